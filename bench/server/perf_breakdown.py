"""Groups a `perf record` profile of the server by where its CPU time goes.

Usage: python3 bench/server/perf_breakdown.py PERF_DATA

Every sample's own symbol (no children) falls into the first group whose pattern matches it: kernel scheduling
(wake-ups and context switches), file writes and fsync, network, SQLite, sqlx, Ed25519/SHA-2, HTTP, JSON, allocation,
tokio, or "other". Used by bench/server/profile.sh; the groups and their shares are in bench/README.md.
"""
import re, subprocess, sys, collections
data = sys.argv[1]
out = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "comm,dso,sym", "--stdio", "-g", "none"],
                     capture_output=True, text=True).stdout
cats = collections.Counter(); threads = collections.Counter()
rules = [
    ("scheduler wake-ups and context switches (kernel)", r"finish_task_switch|_raw_spin_unlock|schedule|futex|try_to_wake|ttwu|select_task_rq|enqueue|dequeue|pick_next|update_curr|irqentry_exit|exit_to_user|rseq"),
    ("file writes and fsync (kernel)", r"ext4|jbd2|filemap|folio|pwrite|vfs_write|iowrite|blk_|nvme|virtio|copy_folio|generic_perform_write|mark_buffer|fsync|writeback"),
    ("network syscalls (kernel)", r"tcp_|ip_|sock|skb|__x64_sys_(send|recv|write|read)|epoll|netif|loopback|inet|__dev_queue|napi"),
    ("SQLite engine", r"sqlite3|^pcache|wal[A-Z]|btree|balance_|vdbe|unixShm|unixLock|posix_lock"),
    ("sqlx (statements, rows, channels)", r"sqlx|flume"),
    ("Ed25519 signing, SHA-2", r"curve25519|ed25519|sha2|sha512|sha256|Sha"),
    ("HTTP (hyper, axum, tower)", r"hyper|axum|tower|http::"),
    ("JSON (serde_json)", r"serde_json|serde::"),
    ("malloc/free, memcpy", r"malloc|_int_free|cfree|unlink_chunk|memmove|memcpy|memset|memcmp|realloc|alloc::"),
    ("tokio runtime", r"tokio"),
]
for line in out.splitlines():
    m = re.match(r"\s+([\d.]+)%\s+(\S+)\s+(\S+)\s+\[[.k]\]\s+(.*)", line)
    if not m:
        continue
    pct, comm, dso, sym = float(m.group(1)), m.group(2), m.group(3), m.group(4)
    threads[comm] += pct
    for name, pat in rules:
        if re.search(pat, sym):
            cats[name] += pct
            break
    else:
        cats["other (kernel)" if "kernel" in dso else "other (user)"] += pct
print("by thread:", ", ".join(f"{k} {v:.1f}%" for k, v in threads.most_common()))
for k, v in cats.most_common():
    print(f"  {v:5.1f}%  {k}")
