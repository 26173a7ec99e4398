//! A guest that resolves the steps its `script` parameter spells out, so the conductor's tests
//! can conduct any step list through the real sandbox path. Steps are separated by `;`:
//!
//! | step                                   | resolves to                                         |
//! |----------------------------------------|-----------------------------------------------------|
//! | `set CH VALUE [rb=CH] [tol=T] [ms=N]`  | a setpoint (readback, tolerance, settle time)       |
//! | `within CH TARGET TOL [ms=N]`          | a check `within`                                    |
//! | `between CH LOW HIGH [ms=N]`           | a check `between`                                   |
//! | `equals CH VALUE`                      | a check `equals` a float                            |
//! | `act DEVICE COMMAND [name=VALUE…]`     | an action with float arguments                      |
//!
//! Anything else is refused with `invalid-params` naming the step.

use baton_guest::prelude::*;

pub struct Script;

impl Procedure for Script {
    fn describe() -> Info {
        Info::new(
            "guest-script",
            env!("CARGO_PKG_VERSION"),
            "Resolves the steps its `script` parameter spells out (for tests).",
        )
        .param(ParamSpec::text("script", "steps separated by `;`").default(""))
    }

    fn resolve(params: &Params, _host: &dyn Host) -> Result<Plan, ResolveError> {
        let script = params.text("script")?;
        let mut plan = Plan::new();
        for (index, step) in script
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .enumerate()
        {
            push(&mut plan, step).map_err(|why| {
                ResolveError::invalid_params(format!("script step {index} `{step}`: {why}"))
            })?;
        }
        Ok(plan)
    }
}

fn number(word: &str) -> Result<f64, String> {
    word.parse::<f64>()
        .map_err(|_| format!("`{word}` is not a number"))
}

fn push(plan: &mut Plan, step: &str) -> Result<(), String> {
    let words: Vec<&str> = step.split_whitespace().collect();
    let (positional, options): (Vec<&str>, Vec<&str>) =
        words.iter().partition(|w| !w.contains('='));
    let option = |key: &str| {
        options
            .iter()
            .find_map(|o| o.strip_prefix(key).and_then(|rest| rest.strip_prefix('=')))
    };
    let ms = option("ms")
        .map(|v| {
            v.parse::<u32>()
                .map_err(|_| format!("`{v}` is not a duration in ms"))
        })
        .transpose()?;
    match positional.as_slice() {
        ["set", channel, value] => {
            let mut sp = Setpoint::new(*channel, number(value)?);
            if let Some(rb) = option("rb") {
                sp = sp.readback(rb);
            }
            if let Some(tol) = option("tol") {
                sp = sp.tolerance(number(tol)?);
            }
            if let Some(ms) = ms {
                sp = sp.settle_ms(ms);
            }
            plan.push(sp);
        }
        ["within", channel, target, tol] => {
            let mut check = Check::within(*channel, number(target)?, number(tol)?);
            if let Some(ms) = ms {
                check = check.timeout_ms(ms);
            }
            plan.push(check);
        }
        ["between", channel, low, high] => {
            let mut check = Check::between(*channel, number(low)?, number(high)?);
            if let Some(ms) = ms {
                check = check.timeout_ms(ms);
            }
            plan.push(check);
        }
        ["equals", channel, value] => {
            plan.push(Check::equals(*channel, number(value)?));
        }
        ["act", device, command] => {
            let mut action = Action::new(*device, *command);
            for (name, value) in options.iter().filter_map(|o| o.split_once('=')) {
                action = action.arg(name, number(value)?);
            }
            plan.push(action);
        }
        _ => return Err("unknown step".into()),
    }
    Ok(())
}

baton_guest::export_procedure!(Script);
