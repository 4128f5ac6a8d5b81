//! Node (napi-rs) shapes: `#[napi(object)]` structs (camelCase in JavaScript) and `string_enum`s, with their
//! conversions from (responses) or into (requests) core's types. JSON stays JSON (`serde_json::Value`).

use crate::parse::{Model, Ty};
use crate::spec::{self, Binding, Dir};
use crate::{HEADER, Kind, conv_out, core_path, doc_lines, field_init, kind, render_enum, substitute, summary};

pub fn render(model: &Model) -> String {
    let mut out = String::from(HEADER);
    out.push_str(
        "//! Node shapes of allowly-core's models (see tools/modelgen). Hand-mapped types and helpers are in `super`.\n\n\
         use std::collections::HashMap;\n\n\
         use napi::Either;\n\
         use napi_derive::napi;\n\
         use serde_json::{Map, Value};\n\n\
         #[allow(unused_imports)]\n\
         use super::*;\n",
    );
    for e in spec::ENUMS {
        if let Some(name) = e.node {
            out.push_str(&render_enum(model, e, name, "#[napi(string_enum = \"snake_case\")]"));
        }
    }
    for r in spec::RECORDS {
        let Some(name) = r.node else { continue };
        let s = model.strukt(r.core);
        let path = core_path(r.path, r.core);
        out.push('\n');
        out.push_str(&doc_lines(summary(&s.doc), ""));
        out.push_str(&format!("#[napi(object)]\npub struct {name} {{\n"));
        for f in &s.fields {
            let custom = spec::custom(Binding::Node, r.core, &f.name);
            out.push_str(&doc_lines(&f.doc, "    "));
            let annotation = custom.and_then(|c| c.annotation).map(str::to_owned).or_else(|| ts_union(model, &f.ty));
            if let Some(ts) = annotation {
                out.push_str(&format!("    #[napi(ts_type = \"{ts}\")]\n"));
            }
            let ty = match custom {
                Some(c) => c.ty.to_owned(),
                None if optional_in_js(r.dir, f) => format!("Option<{}>", rust_ty(model, &f.ty)),
                None => rust_ty(model, &f.ty),
            };
            out.push_str(&format!("    pub {}: {ty},\n", f.name));
        }
        out.push_str("}\n");
        if r.dir != Dir::In {
            out.push_str(&format!(
                "\nimpl From<{path}> for {name} {{\n    fn from(v: {path}) -> Self {{\n        {name} {{\n"
            ));
            for f in &s.fields {
                let value = format!("v.{}", f.name);
                let expr = match spec::custom(Binding::Node, r.core, &f.name) {
                    Some(c) => substitute(c.expr, &value),
                    // A request-shaped field left out when empty, as a caller would write it.
                    None if optional_in_js(r.dir, f) && matches!(f.ty, Ty::Vec(_)) => {
                        format!("(!{value}.is_empty()).then(|| {})", conv_out(model, Binding::Node, &f.ty, &value))
                    }
                    None if optional_in_js(r.dir, f) => {
                        format!("Some({})", conv_out(model, Binding::Node, &f.ty, &value))
                    }
                    None => conv_out(model, Binding::Node, &f.ty, &value),
                };
                out.push_str(&field_init(&f.name, &expr));
            }
            out.push_str("        }\n    }\n}\n");
        }
        if r.dir != Dir::Out {
            out.push_str(&format!(
                "\nimpl From<{name}> for {path} {{\n    fn from(v: {name}) -> Self {{\n        {path} {{\n"
            ));
            for f in &s.fields {
                let value = format!("v.{}", f.name);
                let expr = match spec::custom(Binding::Node, r.core, &f.name) {
                    Some(c) => substitute(c.expr, &value),
                    None if optional_in_js(r.dir, f) => conv_in(model, &f.ty, &format!("{value}.unwrap_or_default()")),
                    None => conv_in(model, &f.ty, &value),
                };
                out.push_str(&field_init(&f.name, &expr));
            }
            out.push_str("        }\n    }\n}\n");
        }
    }
    out
}

/// A field a JavaScript caller may leave out although core's field is not an `Option` (it has a serde default).
fn optional_in_js(dir: Dir, f: &crate::parse::Field) -> bool {
    dir != Dir::Out && f.has_default && !matches!(f.ty, Ty::Opt(_))
}

fn rust_ty(model: &Model, ty: &Ty) -> String {
    match ty {
        Ty::Str => "String".into(),
        Ty::Int(n) => n.clone(),
        Ty::Bool => "bool".into(),
        Ty::Json => "Value".into(),
        Ty::JsonObject => "Map<String, Value>".into(),
        Ty::Opt(t) => format!("Option<{}>", rust_ty(model, t)),
        Ty::Vec(t) => format!("Vec<{}>", rust_ty(model, t)),
        Ty::Map(t) => format!("HashMap<String, {}>", rust_ty(model, t)),
        Ty::Named(n) => match kind(model, Binding::Node, n) {
            Kind::Enum(b) | Kind::Record(b) => b.to_owned(),
            Kind::Stringly(_) => "String".into(),
        },
        Ty::Unsupported(why) => panic!("unsupported field type: {why}"),
    }
}

/// The TypeScript union of a field that is a core enum shown as its wire string.
fn ts_union(model: &Model, ty: &Ty) -> Option<String> {
    match ty {
        Ty::Opt(t) => ts_union(model, t),
        Ty::Named(n) => match kind(model, Binding::Node, n) {
            Kind::Stringly(wire) => Some(wire.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(" | ")),
            _ => None,
        },
        _ => None,
    }
}

/// Binding value `e` into core's type (In direction): enums and records convert with `Into`, the rest is the same.
fn conv_in(model: &Model, ty: &Ty, e: &str) -> String {
    match ty {
        Ty::Named(n) => match kind(model, Binding::Node, n) {
            Kind::Stringly(_) => panic!("a request field of a stringly enum needs a custom shape"),
            _ => format!("{e}.into()"),
        },
        Ty::Opt(t) if matches!(**t, Ty::Named(_)) => format!("{e}.map(Into::into)"),
        Ty::Vec(t) if matches!(**t, Ty::Named(_)) => format!("{e}.into_iter().map(Into::into).collect()"),
        Ty::Map(_) => panic!("a request map field needs a custom shape"),
        _ => e.to_owned(),
    }
}
