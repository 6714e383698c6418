//! A property-level diff of two states, as JSON.
//!
//! States are compared as their serde JSON form, so the diff speaks the same names as the
//! stored payloads: `Open.balance`, `items[2].sku`. An enum moving to another variant shows as
//! the old variant removed and the new one added.

use serde::Serialize;
use serde_json::Value;

/// One property that differs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Change {
    /// Where: dotted keys and `[index]`es from the root; empty for the root itself.
    pub(crate) path: String,
    /// The value before, absent for an added property.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) before: Option<Value>,
    /// The value after, absent for a removed property.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) after: Option<Value>,
}

/// The properties that differ between `before` and `after`, in key order.
pub(crate) fn diff(before: &Value, after: &Value) -> Vec<Change> {
    let mut changes = Vec::new();
    walk(String::new(), Some(before), Some(after), &mut changes);
    changes
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn walk(path: String, before: Option<&Value>, after: Option<&Value>, changes: &mut Vec<Change>) {
    match (before, after) {
        (Some(Value::Object(old)), Some(Value::Object(new))) => {
            let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                walk(join(&path, key), old.get(key), new.get(key), changes);
            }
        }
        (Some(Value::Array(old)), Some(Value::Array(new))) => {
            for index in 0..old.len().max(new.len()) {
                walk(
                    format!("{path}[{index}]"),
                    old.get(index),
                    new.get(index),
                    changes,
                );
            }
        }
        (old, new) if old == new => {}
        (old, new) => changes.push(Change {
            path,
            before: old.cloned(),
            after: new.cloned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changed_added_and_removed_properties_are_listed_by_path() {
        let before = json!({"Open": {"balance": 50, "ops": 1, "tags": ["a"]}});
        let after = json!({"Open": {"balance": 250, "ops": 1, "tags": ["a", "b"]}});
        assert_eq!(
            diff(&before, &after),
            [
                Change {
                    path: "Open.balance".into(),
                    before: Some(json!(50)),
                    after: Some(json!(250)),
                },
                Change {
                    path: "Open.tags[1]".into(),
                    before: None,
                    after: Some(json!("b")),
                },
            ]
        );
    }

    #[test]
    fn a_new_variant_replaces_the_old_one() {
        let changes = diff(
            &json!({"Open": {"balance": 5}}),
            &json!({"Frozen": {"balance": 5}}),
        );
        let paths: Vec<_> = changes.iter().map(|change| change.path.as_str()).collect();
        assert_eq!(paths, ["Frozen", "Open"]);
        assert_eq!(diff(&json!("Locked"), &json!("Unlocked"))[0].path, "");
        assert!(diff(&json!({"a": 1}), &json!({"a": 1})).is_empty());
    }
}
