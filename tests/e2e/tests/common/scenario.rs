//! JSON plumbing of the scenario runner (tests/e2e/tests/scenarios.rs) and of the schema test: listing
//! `tests/scenarios/*.json`, `$var.path` substitution and the subset matcher. No SDK calls here.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

pub fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

/// `$name.a.b` with the longest key that exists at each level (scope names contain dots).
pub fn lookup(vars: &Map<String, Value>, path: &str) -> Result<Value, String> {
    let segs: Vec<&str> = path.split('.').collect();
    let mut cur = vars.get(segs[0]).ok_or_else(|| format!("no variable ${}", segs[0]))?;
    let mut i = 1;
    'outer: while i < segs.len() {
        for j in (i + 1..=segs.len()).rev() {
            if let Some(next) = cur.get(segs[i..j].join(".")) {
                cur = next;
                i = j;
                continue 'outer;
            }
        }
        return Err(format!("${path}: nothing at `{}`", segs[i..].join(".")));
    }
    Ok(cur.clone())
}

pub fn resolve(vars: &Map<String, Value>, v: &Value) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) if s.starts_with('$') => lookup(vars, &s[1..])?,
        Value::Array(a) => Value::Array(a.iter().map(|x| resolve(vars, x)).collect::<Result<_, _>>()?),
        Value::Object(o) if o.contains_key("$now_plus_ms") => Value::String(rfc3339_in(o["$now_plus_ms"].as_u64())),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, x)| Ok((k.clone(), resolve(vars, x)?))).collect::<Result<_, String>>()?)
        }
        other => other.clone(),
    })
}

pub fn rfc3339_in(ms: Option<u64>) -> String {
    let t = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock") + Duration::from_millis(ms.unwrap_or(0));
    let (days, secs) = ((t.as_secs() / 86_400) as i64, t.as_secs() % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let (era, doe) = (z.div_euclid(146_097), z.rem_euclid(146_097));
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let (d, m) = (doy - (153 * mp + 2) / 5 + 1, if mp < 10 { mp + 3 } else { mp - 9 });
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z", secs / 3600, secs / 60 % 60, secs % 60, t.subsec_millis())
}

/// Subset match: objects key by key, arrays element by element, plus `$len`, `$present` and `$ne`.
pub fn matches(exp: &Value, act: &Value, path: &str) -> Result<(), String> {
    let fail = || Err(format!("{path}: expected {exp}, got {act}"));
    match exp {
        Value::Object(o) if o.contains_key("$len") => {
            let n = act.as_array().map(Vec::len).or(act.as_str().map(str::len));
            if n.map(|n| n as u64) == o["$len"].as_u64() { Ok(()) } else { fail() }
        }
        Value::Object(o) if o.contains_key("$present") => {
            if o["$present"].as_bool() == Some(!act.is_null()) {
                Ok(())
            } else {
                fail()
            }
        }
        Value::Object(o) if o.contains_key("$ne") => {
            if o["$ne"] != *act {
                Ok(())
            } else {
                fail()
            }
        }
        Value::Object(o) => {
            o.iter().try_for_each(|(k, e)| matches(e, act.get(k).unwrap_or(&Value::Null), &format!("{path}.{k}")))
        }
        Value::Array(a) => match act.as_array() {
            Some(b) if a.len() == b.len() => {
                a.iter().zip(b).enumerate().try_for_each(|(i, (e, x))| matches(e, x, &format!("{path}[{i}]")))
            }
            _ => fail(),
        },
        Value::Number(n) if act.as_f64() == n.as_f64() => Ok(()),
        _ if exp == act => Ok(()),
        _ => fail(),
    }
}

/// The scenario files, sorted (schema.json excluded).
pub fn scenario_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenarios_dir())
        .expect("tests/scenarios")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json") && !p.ends_with("schema.json"))
        .collect();
    files.sort();
    files
}

pub fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read")).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

pub fn load_scenarios() -> Vec<Value> {
    scenario_files().iter().map(|p| read_json(p)).collect()
}
