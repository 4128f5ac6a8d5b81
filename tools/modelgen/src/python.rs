//! Python getters: one `#[pymethods]` block per wrapped core model with a property per core field (the classes
//! themselves, their reprs and their non-field members are hand-written in `models/mod.rs`), and the matching
//! property stubs in `_native.pyi`. Every enum is a `str` in Python, JSON is a dict.

use crate::parse::{Model, Ty};
use crate::spec::{self, Binding};
use crate::{HEADER, Kind, doc_lines, kind};

pub fn render(model: &Model) -> String {
    let mut out = String::from(HEADER);
    out.push_str(
        "//! Python properties of allowly-core's models (see tools/modelgen). The classes are declared in `super`.\n\n\
         // Getters clone without knowing whether a core type is `Copy`.\n\
         #![allow(clippy::clone_on_copy)]\n\n\
         use std::collections::BTreeMap;\n\n\
         use pyo3::prelude::*;\n\n\
         #[allow(unused_imports)]\n\
         use super::*;\n\
         #[allow(unused_imports)]\n\
         use crate::convert::to_py;\n",
    );
    for r in spec::RECORDS {
        let Some((wrapper, _)) = r.python else { continue };
        let s = model.strukt(r.core);
        out.push_str(&format!("\n#[pymethods]\nimpl {wrapper} {{\n"));
        for (i, f) in s.fields.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&doc_lines(&f.doc, "    "));
            out.push_str("    #[getter]\n");
            let (ty, expr, needs_py) = match spec::custom(Binding::Python, r.core, &f.name) {
                // A custom getter that can fail builds Python objects, so it is handed the Python token.
                Some(c) => (c.ty.to_owned(), c.expr.to_owned(), c.ty.starts_with("PyResult")),
                None => getter(model, &f.ty, &format!("self.inner.{}", f.name)),
            };
            let py = if needs_py { ", py: Python<'_>" } else { "" };
            out.push_str(&format!("    pub(crate) fn {}(&self{py}) -> {ty} {{\n        {expr}\n    }}\n", f.name));
        }
        out.push_str("}\n");
    }
    out
}

/// `(return type, body, needs the Python token)` of the getter of a field.
fn getter(model: &Model, ty: &Ty, e: &str) -> (String, String, bool) {
    let object = |m: &str| format!("serde_json::Value::Object({m}.clone())");
    match ty {
        Ty::Str => ("&str".into(), format!("&{e}"), false),
        Ty::Int(n) => (n.clone(), e.to_owned(), false),
        Ty::Bool => ("bool".into(), e.to_owned(), false),
        Ty::Json => ("PyResult<Py<PyAny>>".into(), format!("Ok(to_py(py, &{e})?.unbind())"), true),
        Ty::JsonObject => ("PyResult<Py<PyAny>>".into(), format!("Ok(to_py(py, &{})?.unbind())", object(e)), true),
        Ty::Opt(t) => match &**t {
            Ty::Str => ("Option<&str>".into(), format!("{e}.as_deref()"), false),
            Ty::Int(n) => (format!("Option<{n}>"), e.to_owned(), false),
            Ty::Bool => ("Option<bool>".into(), e.to_owned(), false),
            Ty::Json => (
                "PyResult<Option<Py<PyAny>>>".into(),
                format!("{e}.as_ref().map(|v| Ok(to_py(py, v)?.unbind())).transpose()"),
                true,
            ),
            Ty::JsonObject => (
                "PyResult<Option<Py<PyAny>>>".into(),
                format!("{e}.as_ref().map(|m| Ok(to_py(py, &{})?.unbind())).transpose()", object("m")),
                true,
            ),
            Ty::Named(n) => match kind(model, Binding::Python, n) {
                Kind::Record(w) => (format!("Option<{w}>"), format!("{e}.clone().map(Into::into)"), false),
                _ => ("Option<&'static str>".into(), format!("{e}.map(|v| v.as_str())"), false),
            },
            other => panic!("Python getter for Option<{other:?}> is not supported; add a custom shape"),
        },
        Ty::Vec(t) => match &**t {
            Ty::Str | Ty::Int(_) | Ty::Bool => (format!("Vec<{}>", simple(t)), format!("{e}.clone()"), false),
            Ty::Named(n) => match kind(model, Binding::Python, n) {
                Kind::Record(w) => {
                    (format!("Vec<{w}>"), format!("{e}.iter().cloned().map(Into::into).collect()"), false)
                }
                _ => ("Vec<&'static str>".into(), format!("{e}.iter().map(|v| v.as_str()).collect()"), false),
            },
            other => panic!("Python getter for Vec<{other:?}> is not supported; add a custom shape"),
        },
        Ty::Map(t) => match &**t {
            Ty::Named(n) => match kind(model, Binding::Python, n) {
                Kind::Record(w) => (
                    format!("BTreeMap<String, {w}>"),
                    format!("{e}.iter().map(|(k, v)| (k.clone(), v.clone().into())).collect()"),
                    false,
                ),
                _ => panic!("Python getter for a map of enums is not supported"),
            },
            Ty::Str | Ty::Int(_) | Ty::Bool => {
                (format!("BTreeMap<String, {}>", simple(t)), format!("{e}.clone()"), false)
            }
            other => panic!("Python getter for BTreeMap<String, {other:?}> is not supported"),
        },
        Ty::Named(n) => match kind(model, Binding::Python, n) {
            Kind::Record(w) => (w.to_owned(), format!("{e}.clone().into()"), false),
            _ => ("&'static str".into(), format!("{e}.as_str()"), false),
        },
        Ty::Unsupported(why) => panic!("unsupported field type: {why}"),
    }
}

fn simple(ty: &Ty) -> String {
    match ty {
        Ty::Str => "String".into(),
        Ty::Int(n) => n.clone(),
        Ty::Bool => "bool".into(),
        _ => unreachable!(),
    }
}

fn annotation(model: &Model, ty: &Ty) -> String {
    match ty {
        Ty::Str => "str".into(),
        Ty::Int(_) => "int".into(),
        Ty::Bool => "bool".into(),
        Ty::Json | Ty::JsonObject => "Dict[str, Any]".into(),
        Ty::Opt(t) => format!("Optional[{}]", annotation(model, t)),
        Ty::Vec(t) => format!("List[{}]", annotation(model, t)),
        Ty::Map(t) => format!("Dict[str, {}]", annotation(model, t)),
        Ty::Named(n) => match kind(model, Binding::Python, n) {
            Kind::Record(_) => python_class(n),
            _ => "str".into(),
        },
        Ty::Unsupported(why) => panic!("unsupported field type: {why}"),
    }
}

fn python_class(core: &str) -> String {
    if let Some(r) = spec::RECORDS.iter().find(|r| r.core == core) {
        return r.python.expect("shown in Python").1.to_owned();
    }
    spec::HAND_MAPPED.iter().find(|h| h.0 == core).map(|h| h.3.1.to_owned()).expect("a known core type")
}

pub const STUB_BEGIN: &str =
    "    # properties generated from allowly-core by `make models` (tools/modelgen): do not edit";
pub const STUB_END: &str = "    # end of generated properties";

/// The stub with each wrapped class's generated property block replaced by the current one.
pub fn render_stub(model: &Model, stub: &str) -> Result<String, String> {
    let mut lines: Vec<String> = stub.lines().map(str::to_owned).collect();
    for r in spec::RECORDS {
        let Some((_, class)) = r.python else { continue };
        let s = model.strukt(r.core);
        let start = lines
            .iter()
            .position(|l| l == &format!("class {class}:"))
            .ok_or_else(|| format!("_native.pyi has no `class {class}:`"))?;
        let end_of_class = lines[start + 1..]
            .iter()
            .position(|l| !l.is_empty() && !l.starts_with(' '))
            .map_or(lines.len(), |p| start + 1 + p);
        let begin = (start..end_of_class)
            .find(|&i| lines[i] == STUB_BEGIN)
            .ok_or_else(|| format!("class {class} in _native.pyi has no generated-properties marker"))?;
        let end = (begin..end_of_class)
            .find(|&i| lines[i] == STUB_END)
            .ok_or_else(|| format!("class {class} in _native.pyi has no end-of-generated marker"))?;
        let mut block = Vec::new();
        for f in &s.fields {
            let ann = match spec::custom(Binding::Python, r.core, &f.name) {
                Some(c) => c.annotation.expect("a custom Python shape names its stub annotation").to_owned(),
                None => annotation(model, &f.ty),
            };
            block.push("    @property".to_owned());
            block.push(format!("    def {}(self) -> {ann}: ...", f.name));
        }
        lines.splice(begin + 1..end, block);
    }
    let mut out = lines.join("\n");
    out.push('\n');
    Ok(out)
}
