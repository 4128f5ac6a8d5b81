//! Reads allowly-core's model source with `syn`: the structs with named fields and the unit enums, with their docs.
//!
//! Only the shape is read (names, types, docs, the serde attributes that change what a binding must accept); nothing
//! here knows about any binding.

use std::path::Path;

use syn::{Attribute, Expr, Fields, GenericArgument, Item, Lit, Meta, PathArguments, Type};

/// A field type, as far as a binding needs to know it.
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    Str,
    /// `i64`, `u32`, `u64`, … (name kept).
    Int(String),
    Bool,
    /// `serde_json::Value`.
    Json,
    /// `serde_json::Map<String, Value>`.
    JsonObject,
    Opt(Box<Ty>),
    Vec(Box<Ty>),
    /// `BTreeMap<String, T>`.
    Map(Box<Ty>),
    /// Another core type: a struct, a unit enum or a hand-mapped type (`ReceiptEnvelope`, `ScopeGrant`).
    Named(String),
    /// A type no renderer knows; an error only if a listed record has such a field.
    Unsupported(String),
}

#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub ty: Ty,
    pub doc: Vec<String>,
    /// `#[serde(default)]` (or `skip`): a request may leave it out.
    pub has_default: bool,
}

#[derive(Debug, Clone)]
pub struct Struct {
    pub name: String,
    pub doc: Vec<String>,
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone)]
pub struct UnitEnum {
    pub name: String,
    /// `#[non_exhaustive]`: another crate's conversion from it needs a fallback.
    pub non_exhaustive: bool,
    pub doc: Vec<String>,
    /// `(Rust ident, wire name)`; the wire name follows `rename_all = "snake_case"`.
    pub variants: Vec<(String, String)>,
}

#[derive(Debug, Default)]
pub struct Model {
    pub structs: Vec<Struct>,
    pub enums: Vec<UnitEnum>,
}

impl Model {
    pub fn read(root: &Path, files: &[&str]) -> Result<Model, String> {
        let mut model = Model::default();
        for file in files {
            let path = root.join(file);
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let parsed = syn::parse_file(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            for item in parsed.items {
                match item {
                    Item::Struct(s) if matches!(s.vis, syn::Visibility::Public(_)) => {
                        let Fields::Named(named) = &s.fields else { continue };
                        let mut fields = Vec::new();
                        for f in &named.named {
                            if !matches!(f.vis, syn::Visibility::Public(_)) {
                                continue;
                            }
                            let name = f.ident.as_ref().expect("named field").to_string();
                            let ty = ty_of(&f.ty)
                                .unwrap_or_else(|e| Ty::Unsupported(format!("{file}: {}.{name}: {e}", s.ident)));
                            fields.push(Field {
                                name,
                                ty,
                                doc: doc_of(&f.attrs),
                                has_default: serde_default(&f.attrs),
                            });
                        }
                        model.structs.push(Struct { name: s.ident.to_string(), doc: doc_of(&s.attrs), fields });
                    }
                    Item::Enum(e) if matches!(e.vis, syn::Visibility::Public(_)) => {
                        if e.variants.iter().any(|v| !matches!(v.fields, Fields::Unit)) {
                            continue;
                        }
                        let variants =
                            e.variants.iter().map(|v| (v.ident.to_string(), snake(&v.ident.to_string()))).collect();
                        let non_exhaustive = e.attrs.iter().any(|a| a.path().is_ident("non_exhaustive"));
                        model.enums.push(UnitEnum {
                            name: e.ident.to_string(),
                            non_exhaustive,
                            doc: doc_of(&e.attrs),
                            variants,
                        });
                    }
                    _ => {}
                }
            }
        }
        Ok(model)
    }

    pub fn strukt(&self, name: &str) -> &Struct {
        self.structs.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("core has no struct `{name}`"))
    }

    pub fn unit_enum(&self, name: &str) -> Option<&UnitEnum> {
        self.enums.iter().find(|e| e.name == name)
    }
}

fn snake(ident: &str) -> String {
    let mut out = String::new();
    for (i, c) in ident.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn last_segment(ty: &Type) -> Option<(String, Vec<&Type>)> {
    let Type::Path(p) = ty else { return None };
    let seg = p.path.segments.last()?;
    let args = match &seg.arguments {
        PathArguments::AngleBracketed(a) => a
            .args
            .iter()
            .filter_map(|a| match a {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Some((seg.ident.to_string(), args))
}

fn ty_of(ty: &Type) -> Result<Ty, String> {
    let (name, args) = last_segment(ty).ok_or("unsupported type")?;
    Ok(match (name.as_str(), args.as_slice()) {
        ("String", []) => Ty::Str,
        ("bool", []) => Ty::Bool,
        ("i64" | "i32" | "u32" | "u64" | "u16" | "u8", []) => Ty::Int(name.clone()),
        ("Value", []) => Ty::Json,
        ("Map", [_, _]) => Ty::JsonObject,
        ("Option", [t]) => Ty::Opt(Box::new(ty_of(t)?)),
        ("Vec", [t]) => Ty::Vec(Box::new(ty_of(t)?)),
        ("BTreeMap", [_, t]) => Ty::Map(Box::new(ty_of(t)?)),
        (other, []) => Ty::Named(other.to_owned()),
        (other, _) => return Err(format!("unsupported generic type `{other}`")),
    })
}

fn doc_of(attrs: &[Attribute]) -> Vec<String> {
    attrs
        .iter()
        .filter_map(|a| match &a.meta {
            Meta::NameValue(nv) if nv.path.is_ident("doc") => match &nv.value {
                Expr::Lit(l) => match &l.lit {
                    Lit::Str(s) => Some(s.value().strip_prefix(' ').map(str::to_owned).unwrap_or_else(|| s.value())),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn serde_default(attrs: &[Attribute]) -> bool {
    attrs.iter().filter(|a| a.path().is_ident("serde")).any(|a| {
        let mut found = false;
        let _ = a.parse_nested_meta(|m| {
            if m.path.is_ident("default") || m.path.is_ident("skip") {
                found = true;
            }
            if m.input.peek(syn::Token![=]) {
                let _: Expr = m.value()?.parse()?;
            }
            Ok(())
        });
        found
    })
}
