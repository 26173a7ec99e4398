//! Random histories (runs of steps, failures, dead hosts, holds, resumes from any boundary,
//! malformed rows, any end): the export never fails for a started procedure, every document
//! validates, uids are unique, counts match, and a shorter history's documents are a prefix.

use std::collections::HashSet;

use baton_host::documents::{self, Document};
use baton_host::domain::{FailureClass, HoldCause, StepKind};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::json;

use super::scenarios::{Scenario, grid_steps};
use super::schema::Schemas;

#[derive(Clone, Debug)]
enum Op {
    Run(usize),
    Fail,
    InFlight,
    Hold(HoldCause),
    Resume(usize),
    Malformed,
}

#[derive(Clone, Copy, Debug)]
enum End {
    Running,
    Complete,
    Abort,
    Truncate,
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1usize..6).prop_map(Op::Run),
        1 => Just(Op::Fail),
        1 => Just(Op::InFlight),
        1 => prop::sample::select(vec![HoldCause::Operator, HoldCause::StepFault, HoldCause::HostRestart]).prop_map(Op::Hold),
        1 => (0usize..14).prop_map(Op::Resume),
        1 => Just(Op::Malformed),
    ]
}

fn arb_end() -> impl Strategy<Value = End> {
    prop::sample::select(vec![End::Running, End::Complete, End::Abort, End::Truncate])
}

fn build(ops: &[Op], end: End) -> (Scenario, usize) {
    let mut s = Scenario::started("random", grid_steps(3, 2));
    let n = s.steps.len();
    let mut cursor = 0;
    let mut malformed = 0;
    for op in ops {
        match op {
            Op::Run(k) => {
                let to = (cursor + k).min(n);
                s.run(cursor, to);
                cursor = to;
            }
            Op::Fail if cursor < n => s.fail(cursor, FailureClass::Timeout),
            Op::InFlight if cursor < n => s.in_flight(cursor),
            Op::Hold(cause) => s.hold(*cause, "random hold"),
            Op::Resume(b) => {
                s.resume(*b as u64, vec![HoldCause::Operator]);
                cursor = *b;
            }
            Op::Malformed => {
                malformed += 1;
                s.raw_ok(
                    2,
                    StepKind::Action,
                    json!({ "observed": { "kind": "nonsense" } }),
                );
            }
            Op::Fail | Op::InFlight => {}
        }
    }
    match end {
        End::Running => {}
        End::Complete => s.complete(),
        End::Abort => s.abort("random abort"),
        End::Truncate => s.truncate("random truncation"),
    }
    (s, malformed)
}

#[test]
fn random_histories_export_valid_consistent_documents() {
    let schemas = Schemas::load();
    let mut runner = TestRunner::new(Config {
        cases: 64,
        ..Config::default()
    });
    let strategy = (prop::collection::vec(arb_op(), 0..12), arb_end());
    runner
        .run(&strategy, |(ops, end)| {
            let (scenario, malformed) = build(&ops, end);
            let export = scenario.export();
            prop_assert_eq!(export.gaps.len(), malformed);
            let mut uids = HashSet::new();
            let mut streams = std::collections::HashMap::new();
            let mut counts = std::collections::BTreeMap::<String, u64>::new();
            for document in &export.documents {
                let errors = schemas.errors(document);
                prop_assert!(errors.is_empty(), "{:?}: {:?}", document, errors);
                prop_assert!(uids.insert(document.uid()));
                match document {
                    Document::Descriptor(d) => {
                        streams.insert(d.uid, d.name.clone());
                    }
                    Document::Event(e) => {
                        let stream = streams.get(&e.descriptor).cloned();
                        prop_assert!(stream.is_some(), "an event before its descriptor");
                        let n = counts.entry(stream.unwrap_or_default()).or_insert(0);
                        *n += 1;
                        prop_assert_eq!(e.seq_num, *n);
                    }
                    Document::Stop(stop) => {
                        prop_assert_eq!(&stop.num_events, &counts);
                    }
                    Document::Start(_) => {}
                }
            }
            let stopped = export
                .documents
                .iter()
                .any(|d| matches!(d, Document::Stop(_)));
            prop_assert_eq!(stopped, !matches!(end, End::Running));
            for cut in scenario.instants().iter().step_by(5) {
                let Ok(part) = documents::export(&scenario.until(*cut).record()) else {
                    continue;
                };
                let shared = part
                    .documents
                    .iter()
                    .take_while(|d| !matches!(d, Document::Stop(_)))
                    .count();
                prop_assert_eq!(&part.documents[..shared], &export.documents[..shared]);
            }
            Ok(())
        })
        .unwrap();
}
