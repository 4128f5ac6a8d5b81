//! The committed binding model files are exactly what the generator writes from core's models today, so a field
//! added to a core model (or a changed doc) and not regenerated with `make models` fails here.

use std::path::Path;

#[test]
fn committed_binding_models_match_core() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let files = allowly_modelgen::generate(&root).expect("generates");
    let mut stale = Vec::new();
    for (path, expected) in files {
        let committed = std::fs::read_to_string(root.join(&path)).unwrap_or_default();
        if committed != expected {
            stale.push(path.display().to_string());
        }
    }
    assert!(stale.is_empty(), "stale generated files (run `make models`): {stale:?}");
}

#[test]
fn every_field_of_a_listed_core_model_reaches_each_binding() {
    // The renderers take the field list from core; check on the parsed model that nothing is filtered away.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let model = allowly_modelgen::parse::Model::read(&root, allowly_modelgen::spec::CORE_FILES).expect("parses");
    let check = model.strukt("ScopeResult");
    let names: Vec<&str> = check.fields.iter().map(|f| f.name.as_str()).collect();
    assert!(names.contains(&"decision") && names.contains(&"confirm_nonce") && names.contains(&"is_fallback"));
    let node = allowly_modelgen::node::render(&model);
    let swift = allowly_modelgen::swift::render(&model);
    let python = allowly_modelgen::python::render(&model);
    for field in names {
        assert!(node.contains(&format!("pub {field}:")), "node lacks {field}");
        assert!(
            swift.contains(&format!("pub {field}:")) || swift.contains(&format!("pub {field}_json:")),
            "swift lacks {field}"
        );
        assert!(python.contains(&format!("fn {field}(")), "python lacks {field}");
    }
}
