"""Every package carries the repository's LICENSE, byte for byte.

maturin (the wheel and sdist) and npm (the tarball) only take a license file from inside the package's own folder,
so bindings-python/ and bindings-node/ hold copies of the root LICENSE; the Kotlin jar packs the root file itself.
A copy edited or left behind after a licence change would ship a different licence than the repository's.
"""

import unittest
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COPIES = ["bindings-python/LICENSE", "bindings-node/LICENSE"]


class LicenseCopies(unittest.TestCase):
    def test_each_package_copy_is_the_root_license(self) -> None:
        root = (REPO / "LICENSE").read_bytes()
        self.assertIn(b"Apache License", root)
        for copy in COPIES:
            with self.subTest(copy=copy):
                self.assertEqual((REPO / copy).read_bytes(), root, f"{copy} differs from the root LICENSE")


if __name__ == "__main__":
    unittest.main()
