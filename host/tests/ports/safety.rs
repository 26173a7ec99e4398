//! The safety check before start + pin: each rule, naming the step index; first versus all.

use baton_host::domain::{Criterion, Setpoint, Step, Value};
use baton_host::ports::limits::LimitBreach;
use baton_host::ports::safety::{self, ChannelRole};
use baton_host::ports::{Catalog, SafetyRule, SafetyViolation};
use proptest::prelude::*;

use crate::{acquire, action, check_step, move_to, name, setpoint, setpoint_rb};

fn catalog() -> Catalog {
    Catalog::builtin().unwrap()
}

fn first(catalog: &Catalog, steps: &[Step]) -> SafetyViolation {
    safety::check(catalog, steps).unwrap_err()
}

fn scan() -> Vec<Step> {
    vec![
        Step::Action(action("sim:shutter", "open", &[])),
        Step::Setpoint(setpoint("sim:mono:energy", Value::Float(9.0))),
        move_to("sim:mx", -2.0),
        Step::Action(acquire(0.1)),
        move_to("sim:mx", 0.0),
        Step::Action(acquire(0.1)),
        move_to("sim:mx", 2.0),
        Step::Setpoint(setpoint_rb(
            "sim:temp:sp",
            80.0,
            "sim:temp:rbv",
            0.5,
            60_000,
        )),
        check_step(
            "sim:temp:rbv",
            Criterion::Within {
                target: 80.0,
                tolerance: 1.0,
            },
        ),
        Step::Setpoint(setpoint("sim:shutter", Value::Text("closed".into()))),
    ]
}

#[test]
fn a_plan_within_the_catalog_passes() {
    safety::check(&catalog(), &scan()).unwrap();
    assert!(safety::check_all(&catalog(), &scan()).is_empty());
    safety::check(&catalog(), &[]).unwrap();
}

#[test]
fn an_unrouted_channel_is_refused_in_every_role() {
    let c = catalog();
    let mut steps = scan();
    steps.insert(2, move_to("bl:mx", 1.0));
    let v = first(&c, &steps);
    assert_eq!(v.step_index, 2);
    assert_eq!(&*v.channel, "bl:mx");
    assert_eq!(
        v.rule,
        SafetyRule::Unrouted {
            role: ChannelRole::Setpoint
        }
    );
    assert_eq!(
        v.to_string(),
        "step 2 (bl:mx): no route serves this setpoint channel"
    );

    let mut steps = scan();
    steps[7] = Step::Setpoint(setpoint_rb("sim:temp:sp", 80.0, "bl:temp", 0.5, 1000));
    let v = first(&c, &steps);
    assert_eq!((v.step_index, &*v.channel), (7, "bl:temp"));
    assert_eq!(
        v.rule,
        SafetyRule::Unrouted {
            role: ChannelRole::Readback
        }
    );

    let mut steps = scan();
    steps[8] = check_step(
        "bl:vacuum",
        Criterion::Between {
            low: 0.0,
            high: 1e-6,
        },
    );
    let v = first(&c, &steps);
    assert_eq!(v.step_index, 8);
    assert_eq!(
        v.rule,
        SafetyRule::Unrouted {
            role: ChannelRole::Check
        }
    );

    let mut steps = scan();
    steps[3] = Step::Action(action("bl:det", "acquire", &[]));
    let v = first(&c, &steps);
    assert_eq!(v.step_index, 3);
    assert_eq!(
        v.rule,
        SafetyRule::Unrouted {
            role: ChannelRole::Action
        }
    );
}

#[test]
fn a_sim_route_must_lead_to_a_sim_device_that_serves_the_role() {
    let c = catalog();
    let cases: Vec<(Step, ChannelRole)> = vec![
        (move_to("sim:mz", 1.0), ChannelRole::Setpoint),
        (move_to("sim:mx.rbv", 1.0), ChannelRole::Setpoint),
        (
            Step::Action(action("sim:det", "trigger", &[])),
            ChannelRole::Action,
        ),
        (
            check_step(
                "sim:temp:rvb",
                Criterion::Between {
                    low: 0.0,
                    high: 1.0,
                },
            ),
            ChannelRole::Check,
        ),
    ];
    for (step, role) in cases {
        let v = first(&c, &[move_to("sim:mx", 1.0), step.clone()]);
        assert_eq!(v.step_index, 1, "{step:?}");
        assert!(
            matches!(&v.rule, SafetyRule::NotServed { role: r, .. } if *r == role),
            "{step:?}: {v}"
        );
    }
}

#[test]
fn a_write_out_of_limits_is_refused_naming_the_breach() {
    let c = catalog();
    let v = first(&c, &[move_to("sim:mx", 1.0), move_to("sim:mx", 21.0)]);
    assert_eq!(v.step_index, 1);
    assert_eq!(
        v.rule,
        SafetyRule::OutOfLimits(LimitBreach::AboveMax {
            value: 21.0,
            max: 20.0
        })
    );
    let v = first(&c, &[move_to("sim:und:gap", 5.0)]);
    assert_eq!(
        v.rule,
        SafetyRule::OutOfLimits(LimitBreach::BelowMin {
            value: 5.0,
            min: 6.0
        })
    );
    let v = first(
        &c,
        &[Step::Setpoint(setpoint(
            "sim:mx",
            Value::Text("home".into()),
        ))],
    );
    assert_eq!(
        v.rule,
        SafetyRule::OutOfLimits(LimitBreach::NotNumeric { kind: "text" })
    );
    let v = first(
        &c,
        &[Step::Setpoint(setpoint(
            "sim:mx",
            Value::Floats(vec![1.0, 2.0]),
        ))],
    );
    assert_eq!(v.rule, SafetyRule::OutOfLimits(LimitBreach::NotScalar));
    // A non-finite value breaks even an unlimited channel's limits.
    let v = first(&c, &[move_to("sim:mono:bragg", f64::INFINITY)]);
    assert!(matches!(
        v.rule,
        SafetyRule::OutOfLimits(LimitBreach::NotFinite { .. })
    ));
    // Ints are numbers too.
    safety::check(&c, &[Step::Setpoint(setpoint("sim:mx", Value::Int(20)))]).unwrap();
}

#[test]
fn max_step_bounds_consecutive_writes_to_a_channel_but_not_the_first() {
    let c = catalog(); // sim:mx max_step 10
    // The first write is bounded by min/max only.
    safety::check(&c, &[move_to("sim:mx", 19.0)]).unwrap();
    // Writes to other channels in between do not reset the previous value.
    let steps = [
        move_to("sim:mx", 19.0),
        move_to("sim:my", 0.0),
        Step::Action(acquire(0.1)),
        move_to("sim:mx", 8.5),
    ];
    let v = first(&c, &steps);
    assert_eq!(v.step_index, 3);
    assert_eq!(
        v.rule,
        SafetyRule::MaxStep(LimitBreach::StepTooLarge {
            from: 19.0,
            to: 8.5,
            max_step: 10.0
        })
    );
    safety::check(&c, &[move_to("sim:mx", 19.0), move_to("sim:mx", 9.0)]).unwrap();
    // A value refused by the range does not become the previous value.
    let steps = [
        move_to("sim:mx", 0.0),
        move_to("sim:mx", 50.0),
        move_to("sim:mx", 5.0),
    ];
    let all = safety::check_all(&c, &steps);
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].step_index, 1);
}

#[test]
fn read_only_routes_and_disabled_writes_refuse_writes_and_actions_not_reads() {
    let text = "[[routes]]\nprefix = \"sim:\"\nport = \"sim\"\n\
                [[routes]]\nprefix = \"sim:temp\"\nport = \"sim\"\nread_only = true\n";
    let c = Catalog::parse(text).unwrap();
    let steps = [
        check_step(
            "sim:temp:rbv",
            Criterion::Between {
                low: 0.0,
                high: 50.0,
            },
        ),
        move_to("sim:mx", 1.0),
        move_to("sim:temp:sp", 30.0),
    ];
    let v = first(&c, &steps);
    assert_eq!(v.step_index, 2);
    assert_eq!(
        v.rule,
        SafetyRule::ReadOnlyRoute {
            prefix: "sim:temp".into()
        }
    );

    let c = Catalog::parse(&format!("writes_enabled = false\n{text}")).unwrap();
    let steps = [
        check_step(
            "sim:mx.rbv",
            Criterion::Between {
                low: -1.0,
                high: 1.0,
            },
        ),
        Step::Action(acquire(1.0)),
        move_to("sim:mx", 1.0),
    ];
    let all = safety::check_all(&c, &steps);
    let rules: Vec<_> = all.iter().map(|v| (v.step_index, v.rule.name())).collect();
    assert_eq!(rules, [(1, "writes_disabled"), (2, "writes_disabled")]);
}

#[test]
fn too_many_steps_is_judged_first_and_names_the_first_step_over_the_cap() {
    let c =
        Catalog::parse("max_steps = 3\n[[routes]]\nprefix = \"sim:\"\nport = \"sim\"\n").unwrap();
    let steps = [
        move_to("sim:mx", 1.0),
        move_to("bl:nowhere", 1.0),
        move_to("sim:mx", 2.0),
        move_to("sim:my", 3.0),
        move_to("sim:mx", 4.0),
    ];
    let v = first(&c, &steps);
    assert_eq!(v.step_index, 3);
    assert_eq!(&*v.channel, "sim:my");
    assert_eq!(v.rule, SafetyRule::TooManySteps { count: 5, cap: 3 });
    // check_all reports the cap, then every step's violations.
    let all = safety::check_all(&c, &steps);
    let rules: Vec<_> = all.iter().map(|v| (v.step_index, v.rule.name())).collect();
    assert_eq!(rules, [(3, "too_many_steps"), (1, "unrouted")]);
    // Exactly at the cap is fine.
    safety::check(&c, &steps[2..]).unwrap();
}

#[test]
fn malformed_readbacks_and_criteria_are_refused() {
    let c = catalog();
    let v = first(
        &c,
        &[Step::Setpoint(setpoint_rb(
            "sim:mx",
            1.0,
            "sim:mx.rbv",
            -1.0,
            100,
        ))],
    );
    assert_eq!(v.rule.name(), "bad_readback");
    assert_eq!(&*v.channel, "sim:mx.rbv");
    let v = first(
        &c,
        &[Step::Setpoint(Setpoint {
            tolerance: Some(0.1),
            readback: Some(name("sim:shutter")),
            ..setpoint("sim:shutter", Value::Text("open".into()))
        })],
    );
    assert_eq!(v.rule.name(), "bad_readback");
    let v = first(
        &c,
        &[check_step(
            "sim:mx.rbv",
            Criterion::Between {
                low: 2.0,
                high: 1.0,
            },
        )],
    );
    assert_eq!(v.rule.name(), "bad_criterion");
}

#[test]
fn check_all_collects_every_violation_in_step_order() {
    let c = catalog();
    let steps = [
        move_to("bl:a", 1.0),
        move_to("sim:mx", 1.0),
        move_to("sim:mx", 30.0),
        Step::Action(action("sim:det", "explode", &[])),
    ];
    let all = safety::check_all(&c, &steps);
    let rules: Vec<_> = all.iter().map(|v| (v.step_index, v.rule.name())).collect();
    assert_eq!(
        rules,
        [(0, "unrouted"), (2, "out_of_limits"), (3, "not_served")]
    );
    assert_eq!(first(&c, &steps), all[0]);
}

fn arb_step() -> impl Strategy<Value = Step> {
    let channel = prop::sample::select(vec![
        "sim:mx",
        "sim:my",
        "sim:mx.rbv",
        "sim:temp:sp",
        "sim:mono:energy",
        "bl:x",
        "sim:nope",
    ]);
    let value = prop_oneof![
        (-40.0..40.0f64).prop_map(Value::Float),
        (-40i64..40).prop_map(Value::Int),
        Just(Value::Float(f64::NAN)),
        Just(Value::Text("x".into())),
    ];
    prop_oneof![
        (channel.clone(), value).prop_map(|(c, v)| Step::Setpoint(setpoint(c, v))),
        (channel, -10.0..10.0f64, 0.0..2.0f64).prop_map(|(c, t, tol)| check_step(
            c,
            Criterion::Within {
                target: t,
                tolerance: tol
            }
        )),
        prop::sample::select(vec!["sim:det", "sim:shutter", "bl:det"])
            .prop_map(|d| Step::Action(action(d, "acquire", &[]))),
    ]
}

proptest! {
    /// `check` is the first of `check_all`, every violation names a step of the list, and the
    /// steps before the first violation pass on their own.
    #[test]
    fn check_is_the_first_of_check_all(steps in prop::collection::vec(arb_step(), 0..40)) {
        let c = catalog();
        let all = safety::check_all(&c, &steps);
        match safety::check(&c, &steps) {
            Ok(()) => prop_assert!(all.is_empty()),
            Err(v) => {
                // Debug, not ==: a NaN value in a violation never equals itself.
                prop_assert_eq!(format!("{v:?}"), format!("{:?}", all[0]));
                prop_assert!(safety::check(&c, &steps[..v.step_index]).is_ok());
            }
        }
        for v in &all {
            prop_assert!(v.step_index < steps.len());
            prop_assert_eq!(&*v.channel, match &steps[v.step_index] {
                Step::Setpoint(sp) if v.rule.name() == "bad_readback" => sp.readback.as_deref().unwrap_or(""),
                Step::Setpoint(sp) if matches!(v.rule, SafetyRule::Unrouted { role: ChannelRole::Readback }) => sp.readback.as_deref().unwrap_or(""),
                other => other.target(),
            });
        }
    }

    /// Moves within the limits, each within the maximum step of the last, always pass.
    #[test]
    fn small_moves_within_limits_pass(targets in prop::collection::vec(-20.0..20.0f64, 1..50)) {
        let mut steps = Vec::new();
        let mut at: Option<f64> = None;
        for t in targets {
            let t = match at { Some(a) => t.clamp(a - 9.5, a + 9.5), None => t };
            steps.push(move_to("sim:mx", t));
            at = Some(t);
        }
        prop_assert!(safety::check(&catalog(), &steps).is_ok());
    }
}
