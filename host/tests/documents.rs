//! The event-model documents of procedures built from domain events and journal entries: every
//! document validates against the vendored schemas (and, with the test venv, event-model's own
//! validators), uids are stable, keys are sanitised, counts match, the order is causal, a longer
//! history extends a shorter one's documents, and unmappable rows are reported.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "documents/python.rs"]
mod python;
#[path = "documents/random.rs"]
mod random;
#[path = "documents/scenarios.rs"]
mod scenarios;
#[path = "documents/schema.rs"]
mod schema;
#[path = "documents/store.rs"]
mod store;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use baton_host::documents::{self, Document, DocumentsError, ExitStatus, Export};
use baton_host::domain::Step;
use scenarios::Scenario;
use serde_json::json;

fn jsonl(export: &Export) -> String {
    export
        .documents
        .iter()
        .map(|d| serde_json::to_string(d).unwrap() + "\n")
        .collect()
}

fn stop_of(export: &Export) -> Option<&documents::RunStop> {
    export.documents.iter().find_map(|d| match d {
        Document::Stop(stop) => Some(stop),
        _ => None,
    })
}

/// The events of one stream, by the stream name of their descriptor.
fn events_of<'a>(export: &'a Export, stream: &str) -> Vec<&'a documents::Event> {
    let descriptors: HashSet<_> = export
        .documents
        .iter()
        .filter_map(|d| match d {
            Document::Descriptor(desc) if desc.name == stream => Some(desc.uid),
            _ => None,
        })
        .collect();
    export
        .documents
        .iter()
        .filter_map(|d| match d {
            Document::Event(e) if descriptors.contains(&e.descriptor) => Some(e),
            _ => None,
        })
        .collect()
}

#[test]
fn every_document_validates_against_the_vendored_schemas() {
    let schemas = schema::Schemas::load();
    for scenario in scenarios::all() {
        let export = scenario.export();
        assert!(!export.documents.is_empty());
        for (i, document) in export.documents.iter().enumerate() {
            let errors = schemas.errors(document);
            assert!(
                errors.is_empty(),
                "{}: document {i} ({}) is invalid: {errors:?}\n{}",
                scenario.name,
                document.name(),
                serde_json::to_string_pretty(document).unwrap()
            );
        }
    }
}

#[test]
fn the_schemas_refuse_what_event_model_refuses() {
    // The vendored schemas do bite: a dotted data key and a "held" exit status are refused.
    let schemas = schema::Schemas::load();
    let export = scenarios::grid().export();
    let Some(Document::Descriptor(mut descriptor)) = export.documents.get(1).cloned() else {
        panic!("the second document is a descriptor");
    };
    let key = descriptor.data_keys.values().next().unwrap().clone();
    descriptor.data_keys.insert("sim:mx.RBV".into(), key);
    assert!(!schemas.errors(&Document::Descriptor(descriptor)).is_empty());
    let mut stop = stop_of(&export).unwrap().clone();
    stop.reason = String::new();
    assert!(schemas.errors(&Document::Stop(stop.clone())).is_empty());
    let mut value = serde_json::to_value(Document::Stop(stop)).unwrap();
    value[1]["exit_status"] = json!("held");
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(
            &serde_json::from_str::<serde_json::Value>(
                &std::fs::read_to_string(
                    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("schemas/event-model/run_stop.json"),
                )
                .unwrap(),
            )
            .unwrap(),
        )
        .unwrap();
    assert!(!validator.is_valid(&value[1]));
}

#[test]
fn event_models_own_validators_accept_every_document() {
    let Some(python) = python::python() else {
        return;
    };
    for scenario in scenarios::all() {
        let lines = jsonl(&scenario.export());
        match python::validate(&python, &lines) {
            Ok(out) => assert!(out.contains("documents valid"), "{}: {out}", scenario.name),
            Err(e) => panic!("{}: event-model refused a document: {e}", scenario.name),
        }
    }
    // And it does refuse: a document with a dotted data key names its line.
    let bad = "[\"start\", {\"uid\": \"u\", \"time\": 1.0, \"bad.key\": 1}]\n";
    let refused = python::validate(&python, bad).unwrap_err();
    assert!(refused.contains("line 1"), "{refused}");
}

#[test]
fn exporting_twice_gives_identical_documents() {
    for scenario in scenarios::all() {
        let first = scenario.export();
        let second = scenarios::all()
            .into_iter()
            .find(|s| s.name == scenario.name)
            .unwrap()
            .export();
        assert_eq!(first, second, "{}", scenario.name);
        assert_eq!(jsonl(&first), jsonl(&second), "{}", scenario.name);
        let uids: BTreeSet<_> = first.documents.iter().map(Document::uid).collect();
        assert_eq!(
            uids.len(),
            first.documents.len(),
            "{}: uids are unique",
            scenario.name
        );
    }
}

#[test]
fn documents_come_in_causal_order() {
    for scenario in scenarios::all() {
        let export = scenario.export();
        let docs = &export.documents;
        assert!(matches!(docs[0], Document::Start(_)), "{}", scenario.name);
        let stops = docs
            .iter()
            .filter(|d| matches!(d, Document::Stop(_)))
            .count();
        assert!(stops <= 1);
        if stops == 1 {
            assert!(matches!(docs.last(), Some(Document::Stop(_))));
        }
        let mut described = HashSet::new();
        let mut seq: BTreeMap<String, u64> = BTreeMap::new();
        let mut stream_of = BTreeMap::new();
        for d in docs {
            match d {
                Document::Descriptor(desc) => {
                    described.insert(desc.uid);
                    stream_of.insert(desc.uid, desc.name.clone());
                }
                Document::Event(e) => {
                    assert!(
                        described.contains(&e.descriptor),
                        "{}: an event before its descriptor",
                        scenario.name
                    );
                    let n = seq.entry(stream_of[&e.descriptor].clone()).or_insert(0);
                    *n += 1;
                    assert_eq!(
                        e.seq_num, *n,
                        "{}: seq_num counts from 1 per stream",
                        scenario.name
                    );
                    // Every data key is described, with a timestamp.
                    assert_eq!(
                        e.data.keys().collect::<Vec<_>>(),
                        e.timestamps.keys().collect::<Vec<_>>()
                    );
                }
                Document::Start(_) | Document::Stop(_) => {}
            }
        }
    }
}

#[test]
fn a_longer_history_extends_the_documents_of_a_shorter_one() {
    for scenario in scenarios::all() {
        let full = scenario.export();
        let instants = scenario.instants();
        for cut in instants.iter().skip(1) {
            let part = match documents::export(&scenario.until(*cut).record()) {
                Ok(part) => part,
                Err(DocumentsError::NotStarted(_)) => continue,
                Err(e) => panic!("{e}"),
            };
            let shared = part
                .documents
                .iter()
                .take_while(|d| !matches!(d, Document::Stop(_)))
                .count();
            assert_eq!(
                &part.documents[..shared],
                &full.documents[..shared],
                "{}: the export at {cut} is not a prefix of the full one",
                scenario.name
            );
            assert_eq!(full.after(shared).len(), full.documents.len() - shared);
        }
    }
}

#[test]
fn keys_are_sanitised_and_sources_keep_the_channel() {
    let export = scenarios::grid().export();
    let mut keys = BTreeMap::new();
    for d in &export.documents {
        if let Document::Descriptor(desc) = d {
            for (key, data_key) in &desc.data_keys {
                assert!(!key.contains(['.', '/', ':']), "{key}");
                keys.insert(key.clone(), data_key.source.clone());
            }
        }
    }
    assert_eq!(keys["sim_mx"], "baton:sim:mx");
    assert_eq!(keys["sim_my"], "baton:sim:my");
    assert_eq!(keys["sim_det_counts"], "baton:sim:det");
    assert_eq!(keys["sim_det_stats_total_sum"], "baton:sim:det");
    assert!(keys.contains_key("step_index"));
    let Document::Start(start) = &export.documents[0] else {
        panic!("start first");
    };
    assert_eq!(start.motors, ["sim_my", "sim_mx"]);
    assert_eq!(start.detectors, ["sim_det"]);
    assert_eq!(start.num_points, 6);
    assert_eq!(start.plan_name, "grid-scan");
    assert!(start.plan_args.contains_key("x_start"));
    let value = serde_json::to_value(&export.documents[0]).unwrap();
    assert_eq!(
        value[1]["hints"]["dimensions"],
        json!([[["sim_my"], "primary"], [["sim_mx"], "primary"]])
    );
    assert_eq!(
        value[1]["baton"]["observed_reads"],
        json!([["sim:mx.RBV", 0.0]])
    );
    assert_eq!(value[1]["baton"]["pin"]["step_count"], json!(14));
}

#[test]
fn the_primary_stream_holds_what_the_journal_says() {
    let scenario = scenarios::grid();
    let export = scenario.export();
    let events = events_of(&export, documents::PRIMARY);
    assert_eq!(events.len(), 6);
    let mut point = 0;
    for (index, step) in scenario.steps.iter().enumerate() {
        if !matches!(step, Step::Action(_)) {
            continue;
        }
        let event = events[point];
        point += 1;
        assert_eq!(event.data["step_index"], json!(index));
        // The last setpoints before this acquisition, as read back.
        let last = |channel: &str| {
            scenario.steps[..index]
                .iter()
                .rev()
                .find_map(|s| match s {
                    Step::Setpoint(sp) if &*sp.channel == channel => sp.value.as_number(),
                    _ => None,
                })
                .unwrap()
        };
        assert_eq!(
            event.data["sim_mx"],
            json!(scenarios::readback_of(last("sim:mx")))
        );
        assert_eq!(
            event.data["sim_my"],
            json!(scenarios::readback_of(last("sim:my")))
        );
        assert_eq!(event.data["sim_det_counts"], json!(100 + index));
    }
}

/// Exit status, baton status, primary events, interruption events.
type ExpectedStop = (ExitStatus, &'static str, u64, u64);
type Case = (fn() -> Scenario, Option<ExpectedStop>);

#[test]
fn stops_map_baton_statuses_and_count_events() {
    let cases: [Case; 9] = [
        (
            scenarios::grid,
            Some((ExitStatus::Success, "Completed", 6, 0)),
        ),
        (
            scenarios::energy,
            Some((ExitStatus::Success, "Completed", 4, 0)),
        ),
        // 3 points in row 0, 1 in row 1 before the fault, then the replay from step 9: 3.
        (
            scenarios::held_then_reconducted,
            Some((ExitStatus::Success, "Completed", 3 + 1 + 3, 4)),
        ),
        (
            scenarios::aborted_by_operator,
            Some((ExitStatus::Abort, "Aborted", 2, 0)),
        ),
        (
            scenarios::aborted_while_held,
            Some((ExitStatus::Abort, "Aborted", 1, 1)),
        ),
        (
            scenarios::resumed_then_aborted,
            Some((ExitStatus::Abort, "Aborted", 1, 3)),
        ),
        (
            scenarios::aborted_on_failure,
            Some((ExitStatus::Fail, "Aborted", 1, 0)),
        ),
        (
            scenarios::truncated,
            Some((ExitStatus::Fail, "Truncated", 1, 1)),
        ),
        (scenarios::running, None),
    ];
    for (make, expected) in cases {
        let scenario = make();
        let export = scenario.export();
        let stop = stop_of(&export);
        let Some((exit, status, primary, interruptions)) = expected else {
            assert!(
                stop.is_none(),
                "{}: a running procedure has no stop",
                scenario.name
            );
            continue;
        };
        let stop = stop.unwrap_or_else(|| panic!("{}: no stop", scenario.name));
        assert_eq!(stop.exit_status, exit, "{}", scenario.name);
        assert_eq!(stop.baton.status, status, "{}", scenario.name);
        assert_eq!(
            events_of(&export, documents::PRIMARY).len() as u64,
            primary,
            "{}",
            scenario.name
        );
        assert_eq!(
            events_of(&export, documents::INTERRUPTIONS).len() as u64,
            interruptions,
            "{}",
            scenario.name
        );
        let mut expected_counts = BTreeMap::new();
        if primary > 0 {
            expected_counts.insert(documents::PRIMARY.to_owned(), primary);
        }
        if interruptions > 0 {
            expected_counts.insert(documents::INTERRUPTIONS.to_owned(), interruptions);
        }
        assert_eq!(stop.num_events, expected_counts, "{}", scenario.name);
        if status == "Truncated" {
            assert!(stop.reason.starts_with("truncated: "), "{}", stop.reason);
        }
        assert!(
            export.gaps.is_empty(),
            "{}: {:?}",
            scenario.name,
            export.gaps
        );
    }
}

#[test]
fn holds_and_resumes_are_interruptions_with_their_boundary() {
    let export = scenarios::held_then_reconducted().export();
    let events = events_of(&export, documents::INTERRUPTIONS);
    let rows: Vec<(String, u64)> = events
        .iter()
        .map(|e| {
            (
                e.data["interruption"].as_str().unwrap().to_owned(),
                e.data["boundary"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(rows[0], ("hold: beam dump (operator)".to_owned(), 7));
    assert_eq!(rows[1].1, 7);
    assert!(rows[1].0.starts_with("resume"), "{}", rows[1].0);
    assert!(rows[2].0.starts_with("hold: setpoint[10]"), "{}", rows[2].0);
    assert!(rows[2].0.ends_with("(step-fault)"), "{}", rows[2].0);
    assert_eq!(rows[2].1, 10);
    assert_eq!(rows[3].1, 9);
    // The replayed segment re-acquires step 9's point: its step index repeats in the primary.
    let indices: Vec<u64> = events_of(&export, documents::PRIMARY)
        .iter()
        .map(|e| e.data["step_index"].as_u64().unwrap())
        .collect();
    assert_eq!(indices, [2, 4, 6, 9, 9, 11, 13]);
}

#[test]
fn a_hold_right_after_a_resume_stands_at_the_resumes_boundary() {
    let export = scenarios::resumed_then_aborted().export();
    let boundaries: Vec<u64> = events_of(&export, documents::INTERRUPTIONS)
        .iter()
        .map(|e| e.data["boundary"].as_u64().unwrap())
        .collect();
    assert_eq!(boundaries, [3, 1, 1]);
}

#[test]
fn unmappable_rows_are_reported_never_dropped() {
    let export = scenarios::unmappable().export();
    let gaps: Vec<(u64, u32)> = export
        .gaps
        .iter()
        .map(|g| (g.sequence, g.step_index))
        .collect();
    // Rows 1–4 are steps 0 and 1 (marker + ok each); then the four bad rows.
    assert_eq!(gaps, [(5, 2), (6, 99), (7, 3), (8, 4)], "{:?}", export.gaps);
    assert!(
        export.gaps[0].reason.contains("does not decode"),
        "{}",
        export.gaps[0].reason
    );
    assert!(export.gaps[1].reason.contains("outside the pin"));
    assert!(export.gaps[2].reason.contains("is a setpoint"));
    assert!(export.gaps[3].reason.contains("without recorded results"));
    // The old-style acquisition still counts as a point, with the positions it was taken at.
    let events = events_of(&export, documents::PRIMARY);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].data["step_index"], json!(4));
    let stop = stop_of(&export).unwrap();
    assert_eq!(stop.baton.gaps, export.gaps);
}

#[test]
fn a_procedure_that_never_started_has_no_documents() {
    let scenario = scenarios::grid();
    let defined_only = scenario.until(scenario.events[0].1);
    assert!(matches!(
        documents::export(&defined_only.record()),
        Err(DocumentsError::NotStarted(id)) if id == scenario.id
    ));
}
