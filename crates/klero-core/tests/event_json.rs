//! Reading events from JSON (SPEC §8): the tag-first reader (`tag_first.rs`) that skips serde's
//! buffering must read every valid entry exactly as serde's internally tagged deserializer does,
//! wherever the `type` (and a method's or beacon's `kind`) member is, and refuse invalid ones with
//! the same message.

use std::collections::BTreeSet;

use klero_core::{Event, LogEntry};
use serde_json::Value;

fn vectors(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/vectors")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The entries of the checked-in vectors as JSON values: the conformance and sample logs, and
/// `entries.json`, which holds one entry of every event type.
fn all_entries() -> Vec<Value> {
    let mut out: Vec<Value> = ["conformance-log.jsonl", "sample-log.jsonl"]
        .iter()
        .flat_map(|f| {
            vectors(f)
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    let entries: Value = serde_json::from_str(&vectors("entries.json")).unwrap();
    for e in entries["entries"].as_array().unwrap() {
        out.push(e["entry"].clone());
    }
    out
}

/// Writes `v` as JSON with the members named `last` moved after the others, in every object.
fn with_last(v: &Value, last: &[&str]) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().filter(|k| !last.contains(&k.as_str())).collect();
            keys.extend(m.keys().filter(|k| last.contains(&k.as_str())));
            let members: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Value::from(k.as_str()), with_last(&m[*k], last)))
                .collect();
            format!("{{{}}}", members.join(","))
        }
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(|x| with_last(x, last)).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

/// Writes `v` with the members named `first` before the others, in every object (as the export
/// writes the tags).
fn with_first(v: &Value, first: &[&str]) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().filter(|k| first.contains(&k.as_str())).collect();
            keys.extend(m.keys().filter(|k| !first.contains(&k.as_str())));
            let members: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Value::from(k.as_str()), with_first(&m[*k], first)))
                .collect();
            format!("{{{}}}", members.join(","))
        }
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(|x| with_first(x, first)).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

const TAGS: [&str; 2] = ["type", "kind"];

#[test]
fn every_event_kind_round_trips_json_to_event_to_json() {
    let mut types = BTreeSet::new();
    let mut kinds = BTreeSet::new();
    for v in all_entries() {
        let e: LogEntry = serde_json::from_value(v.clone()).unwrap();
        // The export writes the tags first: that line parses back to the same entry and is
        // written again byte for byte.
        let line = e.to_json_line();
        assert!(line.contains(&format!("\"event\":{{\"type\":\"{}\"", e.event.type_name())));
        let back = LogEntry::from_json_line(&line).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.to_json_line(), line);
        assert_eq!(back.computed_hash(), e.hash);
        assert_eq!(serde_json::to_value(&back).unwrap(), v);
        types.insert(e.event.type_name());
        if let Event::Draw(d) = &e.event {
            kinds.insert(serde_json::to_value(&d.method).unwrap()["kind"].to_string());
            if let Some(b) = &d.beacon {
                kinds.insert(serde_json::to_value(b).unwrap()["kind"].to_string());
            }
        }
    }
    assert_eq!(types.len(), 24, "every event type: {types:?}");
    assert_eq!(
        kinds.len(),
        7,
        "every draw method and beacon kind: {kinds:?}"
    );
    // The exported logs are exactly what the entries write.
    for f in ["conformance-log.jsonl", "sample-log.jsonl"] {
        for line in vectors(f).lines() {
            assert_eq!(LogEntry::from_json_line(line).unwrap().to_json_line(), line);
        }
    }
}

#[test]
fn a_tag_after_other_members_still_parses_to_the_same_entry() {
    for v in all_entries() {
        let first = LogEntry::from_json_line(&with_first(&v, &TAGS)).unwrap();
        let last = LogEntry::from_json_line(&with_last(&v, &TAGS)).unwrap();
        assert_eq!(first, last);
        // The tag between other members.
        let mut m = v["event"].as_object().unwrap().clone();
        let t = m.remove("type").unwrap();
        let mut members: Vec<(String, Value)> = m.into_iter().collect();
        members.insert(1.min(members.len()), ("type".into(), t));
        let middle = members
            .iter()
            .map(|(k, x)| format!("{}:{}", Value::from(k.as_str()), x))
            .collect::<Vec<_>>()
            .join(",");
        let mut entry = v.clone();
        entry["event"] = Value::Null;
        let line = entry
            .to_string()
            .replace("\"event\":null", &format!("\"event\":{{{middle}}}"));
        assert_eq!(LogEntry::from_json_line(&line).unwrap(), first);
        // An event read on its own, tag first or not.
        let event: Event = serde_json::from_str(&with_first(&v["event"], &TAGS)).unwrap();
        assert_eq!(event, first.event);
        let event: Event = serde_json::from_str(&with_last(&v["event"], &TAGS)).unwrap();
        assert_eq!(event, first.event);
        let event: Event = serde_json::from_value(v["event"].clone()).unwrap();
        assert_eq!(event, first.event);
    }
}

/// The message without serde_json's position (` at line 1 column N`).
fn message(e: serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

const DRAW: &str = r#"{"type":"draw","case":"N-1","trigger":3,"method":{"kind":"random"},
    "seats":1,"scope":"division","eligible":[],"excluded":[],
    "beacon":{"kind":"hash_chain","round":1,"value":"0000000000000000000000000000000000000000000000000000000000000000"},
    "seed":null,"chosen":[]}"#;

#[test]
fn invalid_events_are_refused_with_the_same_message_wherever_the_tag_is() {
    let valid_draw: Value = serde_json::from_str(DRAW).unwrap();
    serde_json::from_value::<Event>(valid_draw.clone()).unwrap();
    let draw_with = |f: &dyn Fn(&mut Value)| {
        let mut d = valid_draw.clone();
        f(&mut d);
        d
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            serde_json::json!({"type": "court_razed", "court": "c"}),
            "unknown variant `court_razed`, expected one of `genesis`, `policy_updated`",
        ),
        (
            serde_json::json!({"type": "court_created", "court": "c", "name": "n", "extra": 1}),
            "unknown field `extra`, expected `court` or `name`",
        ),
        (
            serde_json::json!({"type": "court_created", "court": "c"}),
            "missing field `name`",
        ),
        (
            serde_json::json!({"type": "court_created", "court": 5, "name": "n"}),
            "invalid type: integer `5`, expected a string",
        ),
        (
            serde_json::json!({"type": "court_created", "court": "no spaces", "name": "n"}),
            "\"no spaces\" is not a valid court identifier",
        ),
        (
            serde_json::json!({"type": 5, "court": "c", "name": "n"}),
            "invalid type: integer `5`, expected variant identifier",
        ),
        (
            serde_json::json!({"court": "c", "name": "n"}),
            "missing field `type`",
        ),
        (serde_json::json!({}), "missing field `type`"),
        (
            serde_json::json!(null),
            "invalid type: null, expected internally tagged enum Event",
        ),
        (
            serde_json::json!("draw"),
            "invalid type: string \"draw\", expected internally tagged enum Event",
        ),
        (
            draw_with(&|d| d["extra"] = 1.into()),
            "unknown field `extra`, expected one of `case`, `trigger`",
        ),
        (
            draw_with(&|d| {
                d.as_object_mut().unwrap().remove("chosen");
            }),
            "missing field `chosen`",
        ),
        (
            draw_with(&|d| d["method"] = serde_json::json!({"kind": "related"})),
            "missing field `case`",
        ),
        (
            draw_with(&|d| {
                d["method"] = serde_json::json!({"kind": "related", "case": "N-1", "x": 1})
            }),
            "unknown field `x`, expected `case`",
        ),
        (
            draw_with(&|d| d["method"] = serde_json::json!({"kind": "by_hand"})),
            "unknown variant `by_hand`, expected one of `random`, `related`",
        ),
        (
            draw_with(&|d| d["beacon"]["value"] = "AA".into()),
            "\"AA\" is not a 32-byte digest in lower-case hex",
        ),
        (
            draw_with(&|d| d["beacon"] = serde_json::json!({"round": 1})),
            "missing field `kind`",
        ),
    ];
    for (event, expected) in cases {
        for text in [with_first(&event, &TAGS), with_last(&event, &TAGS)] {
            let got = message(serde_json::from_str::<Event>(&text).unwrap_err());
            assert!(
                got.starts_with(expected),
                "{text}: {got:?} does not start with {expected:?}"
            );
        }
        let (a, b) = (
            serde_json::from_str::<Event>(&with_first(&event, &TAGS)).unwrap_err(),
            serde_json::from_str::<Event>(&with_last(&event, &TAGS)).unwrap_err(),
        );
        assert_eq!(message(a), message(b), "{event}");
    }
}

#[test]
fn repeated_members_and_tags_are_refused() {
    for (text, expected) in [
        (
            r#"{"type":"court_created","court":"c","court":"d","name":"n"}"#,
            "duplicate field `court`",
        ),
        (
            r#"{"type":"court_created","court":"c","name":"n","type":"court_created"}"#,
            "duplicate field `type`",
        ),
        (
            r#"{"court":"c","type":"court_created","name":"n","type":"court_created"}"#,
            "duplicate field `type`",
        ),
        (
            r#"{"type":"case_closed","case":"N-1","type":"case_filed","reason":"judgment"}"#,
            "duplicate field `type`",
        ),
    ] {
        let got = message(serde_json::from_str::<Event>(text).unwrap_err());
        assert_eq!(got, expected, "{text}");
    }
    let draw = DRAW.replace(
        r#"{"kind":"random"}"#,
        r#"{"kind":"random","kind":"random"}"#,
    );
    let got = message(serde_json::from_str::<Event>(&draw).unwrap_err());
    assert_eq!(got, "duplicate field `kind`");
}

#[test]
fn an_error_in_an_event_whose_tag_comes_first_is_reported_where_it_is() {
    // Read straight from the parser, not from a buffered copy of the whole object: the position
    // is the bad member's (column 94), where serde's buffering reported the end of the event's
    // object (column 140).
    let line = r#"{"index":0,"at":1,"actor":{"role":"system","id":"a"},"event":{"type":"court_created","court":5,"name":"a long name to make the object long"},"prev":"00","hash":"00"}"#;
    let e = LogEntry::from_json_line(line).unwrap_err();
    assert_eq!(
        e,
        "invalid type: integer `5`, expected a string at line 1 column 94"
    );
}
