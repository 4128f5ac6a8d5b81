//! UniFFI shapes for Swift and Kotlin: `uniffi::Record` structs and `uniffi::Enum`s with their conversions.
//!
//! UniFFI has no JSON type, so free-form JSON crosses as JSON text in a field named `<field>_json`; a request's JSON
//! text is parsed on the way into core and a parse failure is a `Validation` error naming that field.

use crate::parse::{Model, Ty};
use crate::spec::{self, Binding, Dir};
use crate::{HEADER, Kind, conv_out, core_path, doc_lines, field_init, kind, render_enum, substitute, summary};

pub fn render(model: &Model) -> String {
    let mut out = String::from(HEADER);
    out.push_str(
        "//! UniFFI shapes of allowly-core's models (see tools/modelgen). Hand-mapped types and helpers are in `super`.\n\n\
         use std::collections::HashMap;\n\
         use std::sync::Arc;\n\n\
         #[allow(unused_imports)]\n\
         use super::*;\n",
    );
    for e in spec::ENUMS {
        if let Some(name) = e.swift {
            out.push_str(&render_enum(model, e, name, "#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]"));
        }
    }
    for r in spec::RECORDS {
        let Some(name) = r.swift else { continue };
        let s = model.strukt(r.core);
        let path = core_path(r.path, r.core);
        out.push('\n');
        out.push_str(&doc_lines(summary(&s.doc), ""));
        out.push_str(&format!("#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]\npub struct {name} {{\n"));
        for f in &s.fields {
            let custom = spec::custom(Binding::Swift, r.core, &f.name);
            out.push_str(&doc_lines(&f.doc, "    "));
            // A hand-shaped optional field of a request (a map with a serde default) defaults to absent too.
            if r.dir != Dir::Out && custom.is_some_and(|c| c.ty.starts_with("Option<")) && f.has_default {
                out.push_str("    #[uniffi(default = None)]\n");
            } else if r.dir != Dir::Out {
                match &f.ty {
                    Ty::Opt(_) => out.push_str("    #[uniffi(default = None)]\n"),
                    Ty::Json if f.has_default => out.push_str("    #[uniffi(default = None)]\n"),
                    Ty::Vec(_) if f.has_default => out.push_str("    #[uniffi(default = [])]\n"),
                    Ty::Bool if f.has_default => out.push_str("    #[uniffi(default = false)]\n"),
                    _ => {}
                }
            }
            let ty = match custom {
                Some(c) => c.ty.to_owned(),
                None if json_or_null(r.dir, f) => "Option<String>".to_owned(),
                None => rust_ty(model, &f.ty),
            };
            out.push_str(&format!("    pub {}: {ty},\n", field_name(&f.name, &f.ty)));
        }
        out.push_str("}\n");
        if r.dir != Dir::In {
            out.push_str(&format!(
                "\nimpl From<{path}> for {name} {{\n    fn from(v: {path}) -> Self {{\n        {name} {{\n"
            ));
            for f in &s.fields {
                let value = format!("v.{}", f.name);
                let expr = match spec::custom(Binding::Swift, r.core, &f.name) {
                    Some(c) => substitute(c.expr, &value),
                    None if json_or_null(r.dir, f) => format!("Some(to_json_text(&{value}))"),
                    None => conv_out(model, Binding::Swift, &f.ty, &value),
                };
                out.push_str(&field_init(&field_name(&f.name, &f.ty), &expr));
            }
            out.push_str("        }\n    }\n}\n");
        }
        if r.dir != Dir::Out {
            out.push_str(&format!(
                "\nimpl {name} {{\n    pub(crate) fn into_core(self) -> Result<{path}> {{\n        let v = self;\n        Ok({path} {{\n"
            ));
            for f in &s.fields {
                let binding_name = field_name(&f.name, &f.ty);
                let value = format!("v.{binding_name}");
                let expr = match spec::custom(Binding::Swift, r.core, &f.name) {
                    Some(c) => substitute(c.expr, &value),
                    None if json_or_null(r.dir, f) => format!("parse_json_or_null(\"{binding_name}\", {value})?"),
                    None => conv_in(model, &f.ty, &binding_name, &value),
                };
                out.push_str(&field_init(&f.name, &expr));
            }
            out.push_str("        })\n    }\n}\n");
        }
    }
    out
}

/// A JSON field with a serde default in a request-shaped record: optional JSON text, absent meaning `null`.
fn json_or_null(dir: Dir, f: &crate::parse::Field) -> bool {
    dir != Dir::Out && f.has_default && f.ty == Ty::Json
}

/// A record this binding hands to core with `into_core()` (fallible: its JSON text may not parse).
fn fallible_into_core(name: &str) -> Option<&'static str> {
    spec::RECORDS.iter().find(|r| r.core == name && r.dir != Dir::Out).and_then(|r| r.swift)
}

fn is_json(ty: &Ty) -> bool {
    match ty {
        Ty::Json | Ty::JsonObject => true,
        Ty::Opt(t) => is_json(t),
        _ => false,
    }
}

fn field_name(name: &str, ty: &Ty) -> String {
    if is_json(ty) { format!("{name}_json") } else { name.to_owned() }
}

fn rust_ty(model: &Model, ty: &Ty) -> String {
    match ty {
        Ty::Str | Ty::Json | Ty::JsonObject => "String".into(),
        Ty::Int(n) => n.clone(),
        Ty::Bool => "bool".into(),
        Ty::Opt(t) => format!("Option<{}>", rust_ty(model, t)),
        Ty::Vec(t) => format!("Vec<{}>", rust_ty(model, t)),
        Ty::Map(t) => format!("HashMap<String, {}>", rust_ty(model, t)),
        Ty::Named(n) => match kind(model, Binding::Swift, n) {
            Kind::Enum(b) | Kind::Record(b) => b.to_owned(),
            Kind::Stringly(_) => "String".into(),
        },
        Ty::Unsupported(why) => panic!("unsupported field type: {why}"),
    }
}

fn conv_in(model: &Model, ty: &Ty, binding_name: &str, e: &str) -> String {
    match ty {
        Ty::Opt(t) if **t == Ty::JsonObject => format!("parse_object(\"{binding_name}\", {e})?"),
        Ty::Opt(t) if **t == Ty::Json => format!("parse_value(\"{binding_name}\", {e})?"),
        Ty::Json | Ty::JsonObject | Ty::Map(_) => panic!("request field `{binding_name}` needs a custom Swift shape"),
        Ty::Named(n) if fallible_into_core(n).is_some() => format!("{e}.into_core()?"),
        Ty::Named(n) => match kind(model, Binding::Swift, n) {
            Kind::Stringly(_) => panic!("a request field of a stringly enum needs a custom shape"),
            _ => format!("{e}.into()"),
        },
        Ty::Opt(t) => match &**t {
            Ty::Named(n) => match fallible_into_core(n) {
                Some(b) => format!("{e}.map({b}::into_core).transpose()?"),
                None => format!("{e}.map(Into::into)"),
            },
            _ => e.to_owned(),
        },
        Ty::Vec(t) => match &**t {
            Ty::Named(n) => match fallible_into_core(n) {
                Some(b) => format!("{e}.into_iter().map({b}::into_core).collect::<Result<_>>()?"),
                None => format!("{e}.into_iter().map(Into::into).collect()"),
            },
            _ => e.to_owned(),
        },
        _ => e.to_owned(),
    }
}
