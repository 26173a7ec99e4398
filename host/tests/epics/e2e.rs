//! End to end through the HTTP API against the real soft IOC: a host (`api::Server` on
//! 127.0.0.1, SQLite store) whose catalog routes `BT:` (the shared IOC) and `RS:` (the
//! restartable one) to the EPICS port. Procedures are uploaded, defined and conducted over the
//! socket; what they wrote is read back with an independent CA client (pyepics), and the
//! failure stories run through the conductor: access denied aborts, a killed IOC holds and a
//! restarted one lets reconduct finish, a MAJOR alarm holds a check until it clears.

use std::collections::BTreeMap;
use std::path::Path;

use baton_host::app;
use baton_host::documents::{self, Document};
use baton_host::ports::Catalog;
use baton_host::store::{SqliteOptions, SqliteStore};
use reqwest::{Method, StatusCode};
use serde_json::{Value as Json, json};
use uuid::Uuid;

use crate::api_host::{Host, Options, assert_problem};
use crate::harness;

/// The shipped EPICS test catalog (`host/catalogs/epics-test-ioc.toml`) and `extra` TOML.
fn catalog_with(extra: &str) -> Catalog {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("catalogs/epics-test-ioc.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    Catalog::parse(&format!("{text}\n{extra}\n")).unwrap()
}

/// The shipped catalog plus a route to the restartable IOC.
fn catalog() -> Catalog {
    catalog_with(&format!(
        "[[routes]]\nprefix = \"{}:\"\nport = \"epics\"\n",
        harness::RESTART_PREFIX
    ))
}

/// A host on `catalog`; the CA environment is set before its router makes a CA context.
async fn host(catalog: Catalog) -> Host {
    harness::env();
    Host::with(Options {
        catalog,
        register_examples: false,
        ..Options::default()
    })
    .await
}

fn example(name: &str) -> &'static [u8] {
    baton_artifacts::Example::named(name)
        .unwrap_or_else(|| panic!("{name} is not an example"))
        .bytes
}

/// A PV read with pyepics, as a number.
async fn caget_f64(pv: String) -> f64 {
    let text = {
        let pv = pv.clone();
        tokio::task::spawn_blocking(move || harness::caget(&pv))
            .await
            .unwrap()
    };
    text.parse()
        .unwrap_or_else(|_| panic!("caget {pv}: {text:?} is not a number"))
}

/// A numeric PV read with pyepics at full precision.
async fn caget_exact(pv: String) -> f64 {
    tokio::task::spawn_blocking(move || harness::caget_float(&pv))
        .await
        .unwrap()
}

async fn caput(pv: String, value: &'static str) {
    tokio::task::spawn_blocking(move || harness::caput(&pv, value))
        .await
        .unwrap();
}

async fn conduct(host: &Host, id: &str, verb: &str) -> Json {
    let (status, outcome) = host
        .call(Method::POST, &format!("/procedures/{id}/{verb}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{verb}: {outcome}");
    outcome
}

/// The pinned steps of a conducted procedure.
async fn pinned_steps(host: &Host, id: &str) -> Vec<Json> {
    let (status, procedure) = host.get(&format!("/procedures/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{procedure}");
    procedure["steps"].as_array().cloned().unwrap()
}

/// The value of the last setpoint the steps write to `channel`.
fn last_setpoint(steps: &[Json], channel: &str) -> f64 {
    steps
        .iter()
        .rev()
        .find(|s| s["kind"] == "setpoint" && s["channel"] == channel)
        .and_then(|s| s["value"]["value"].as_f64())
        .unwrap_or_else(|| panic!("no setpoint on {channel}"))
}

fn count_kind(steps: &[Json], kind: &str) -> usize {
    steps.iter().filter(|s| s["kind"] == kind).count()
}

/// The whole journal of a procedure, in sequence order.
async fn journal(host: &Host, id: &str) -> Vec<Json> {
    let (status, page) = host
        .get(&format!("/procedures/{id}/journal?limit=10000"))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page["next_after"].is_null(), "one page holds it all");
    page["items"].as_array().cloned().unwrap()
}

/// The frame counter each acquisition reported, as the journal recorded it.
fn acquired_frames(journal: &[Json]) -> Vec<i64> {
    journal
        .iter()
        .filter(|e| e["step_kind"] == "action" && e["result"] == "ok")
        .map(|e| {
            e["detail"]["answer"]["results"]["array_counter"]
                .as_i64()
                .unwrap_or_else(|| panic!("an acquire without its counter: {e}"))
        })
        .collect()
}

/// Values read back through CA are printed with the record's PREC (4 here).
fn assert_close(seen: f64, want: f64, what: &str) {
    assert!(
        (seen - want).abs() < 1e-3,
        "{what}: read {seen}, wrote {want}"
    );
}

/// Uploads the example `name`, defines it with `params` and conducts it over HTTP; asserts it
/// completed physically and that `detector` (a device under the shared IOC) took one frame per
/// pinned acquisition, as both pyepics and the journal's acquire answers say. The procedure's id
/// and pinned steps.
async fn conduct_scan(
    host: &Host,
    name: &str,
    detector: &str,
    params: Json,
) -> (String, Vec<Json>) {
    let ioc = harness::shared();
    let counter = ioc.pv(&format!("{detector}:ArrayCounter_RBV"));
    let component = host.upload(example(name)).await;
    let frames_before = caget_f64(counter.clone()).await as i64;
    let id = host.define(&component, params).await;
    let outcome = conduct(host, &id, "conduct").await;
    assert_eq!(outcome["status"], "Completed", "{outcome}");
    assert_eq!(outcome["succeeded"], true);
    assert_eq!(outcome["actuation_kind"], "physical", "{outcome}");
    assert_eq!(outcome["completed_steps"], outcome["step_count"]);

    let steps = pinned_steps(host, &id).await;
    let frames_after = caget_f64(counter).await as i64;
    assert_eq!(
        frames_after - frames_before,
        count_kind(&steps, "action") as i64,
        "one frame per acquisition"
    );
    // The journal recorded the IOC's own counter after each acquisition, one frame each.
    let frames = acquired_frames(&journal(host, &id).await);
    assert_eq!(
        frames,
        (frames_before + 1..=frames_after).collect::<Vec<_>>()
    );
    (id, steps)
}

/// The readback the journal recorded for the last `ok` setpoint on `channel`, checked to be
/// good quality and within the step's tolerance of its target.
fn last_readback(journal: &[Json], steps: &[Json], channel: &str) -> f64 {
    let row = journal
        .iter()
        .rev()
        .find(|e| {
            e["step_kind"] == "setpoint" && e["result"] == "ok" && e["detail"]["channel"] == channel
        })
        .unwrap_or_else(|| panic!("no setpoint on {channel} ran"));
    let observed = &row["detail"]["observed"];
    assert_eq!(observed["kind"], "setpoint", "{row}");
    assert_eq!(observed["target"], row["detail"]["value"], "{row}");
    let readback = &observed["readback"];
    assert_eq!(readback["quality"], "good", "{row}");
    assert_eq!(readback["value"]["type"], "float", "{row}");
    let value = readback["value"]["value"].as_f64().unwrap();
    let step = &steps[row["step_index"].as_u64().unwrap() as usize];
    let target = step["value"]["value"].as_f64().unwrap();
    let tolerance = step["tolerance"].as_f64().unwrap_or(0.0);
    assert!((value - target).abs() <= tolerance, "{row}");
    value
}

/// The documents of procedure `id`, exported from the host's store (its SQLite file, opened
/// beside the running host) through the loader the HTTP route and `baton export` use.
async fn export_from_store(host: &Host, id: &str) -> documents::Export {
    let store = SqliteStore::open(host.dir.path().join("baton.db"), SqliteOptions::default())
        .await
        .unwrap();
    let id = Uuid::parse_str(id).unwrap();
    let exported = app::export_documents(&store, id).await.unwrap();
    store.close().await;
    exported.export
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grid_scan_conducted_over_http_moves_the_ioc_motors_and_takes_every_frame() {
    let ioc = harness::shared();
    let host = host(catalog()).await;
    let (nx, ny) = (3, 4);
    let params = json!({
        "x_motor": ioc.pv("MX:VAL"), "x_readback": ioc.pv("MX:RBV"),
        "y_motor": ioc.pv("MY:VAL"), "y_readback": ioc.pv("MY:RBV"),
        "detector": ioc.pv("GDET"),
        "x_start": -1.0, "x_stop": 1.5, "x_points": nx,
        "y_start": 0.25, "y_stop": 2.0, "y_points": ny,
        "snake": true, "exposure_s": 0.02,
    });
    let (id, steps) = conduct_scan(&host, "grid-scan", "GDET", params).await;
    assert_eq!(count_kind(&steps, "action"), nx * ny);
    let (x, y) = (
        last_setpoint(&steps, &ioc.pv("MX:VAL")),
        last_setpoint(&steps, &ioc.pv("MY:VAL")),
    );
    // An even number of snaked rows ends where the first began.
    assert_eq!((x, y), (-1.0, 2.0));

    // An independent CA client sees the motors where the scan left them.
    assert_close(caget_f64(ioc.pv("MX:RBV")).await, x, "MX:RBV");
    assert_close(caget_f64(ioc.pv("MX:VAL")).await, x, "MX:VAL");
    assert_close(caget_f64(ioc.pv("MY:RBV")).await, y, "MY:RBV");
    let exposure = caget_f64(ioc.pv("GDET:AcquireTime")).await;
    assert_close(exposure, 0.02, "exposure");

    // The journal recorded the readbacks the last moves settled on: exactly what pyepics reads
    // from the RBV records now.
    let journal = journal(&host, &id).await;
    let (x_motor, y_motor) = (ioc.pv("MX:VAL"), ioc.pv("MY:VAL"));
    let x_rbv = caget_exact(ioc.pv("MX:RBV")).await;
    let y_rbv = caget_exact(ioc.pv("MY:RBV")).await;
    assert_eq!(last_readback(&journal, &steps, &x_motor), x_rbv);
    assert_eq!(last_readback(&journal, &steps, &y_motor), y_rbv);
    // Each acquisition recorded the catalog's results typed: `array_counter`, a longin, as an
    // int equal to the counter its answer reports.
    let acquisitions: Vec<&Json> = journal
        .iter()
        .filter(|e| e["step_kind"] == "action" && e["result"] == "ok")
        .collect();
    assert_eq!(acquisitions.len(), nx * ny);
    for e in &acquisitions {
        assert_eq!(
            e["detail"]["observed"],
            json!({ "kind": "action", "results": { "array_counter": {
                "type": "int", "value": e["detail"]["answer"]["results"]["array_counter"] } } }),
            "{e}"
        );
    }

    // The documents from the store: one primary event per acquisition, whose motor columns are
    // where the journal says the motors settled before it, and the last event's are what
    // pyepics reads.
    let export = export_from_store(&host, &id).await;
    assert!(export.gaps.is_empty(), "{:?}", export.gaps);
    let (mut columns, mut primary, mut events) = (BTreeMap::new(), Vec::new(), Vec::new());
    for document in &export.documents {
        match document {
            Document::Descriptor(d) if d.name == documents::PRIMARY => {
                primary.push(d.uid);
                for (key, data_key) in &d.data_keys {
                    columns.insert(data_key.object_name.clone(), key.clone());
                }
            }
            Document::Event(e) if primary.contains(&e.descriptor) => events.push(e),
            _ => {}
        }
    }
    let (x_key, y_key) = (&columns[&x_motor], &columns[&y_motor]);
    // Where the journal says each motor settled, as of each acquisition.
    let mut settled = BTreeMap::new();
    let mut expected = Vec::new();
    for e in &journal {
        if e["result"] != "ok" {
            continue;
        }
        match e["step_kind"].as_str() {
            Some("setpoint") => {
                let channel = e["detail"]["channel"].as_str().unwrap().to_owned();
                let readback = e["detail"]["observed"]["readback"]["value"]["value"].clone();
                settled.insert(channel, readback);
            }
            Some("action") => expected.push((settled[&x_motor].clone(), settled[&y_motor].clone())),
            _ => {}
        }
    }
    let columns: Vec<(Json, Json)> = events
        .iter()
        .map(|e| (e.data[x_key].clone(), e.data[y_key].clone()))
        .collect();
    assert_eq!(columns, expected);
    assert_eq!(
        columns.last().unwrap(),
        &(json!(x_rbv), json!(y_rbv)),
        "the last event's motor columns are what pyepics reads"
    );
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn energy_scan_conducted_over_http_drives_bragg_and_gap_and_acquires() {
    let ioc = harness::shared();
    let host = host(catalog()).await;
    let points = 4;
    let params = json!({
        "bragg": ioc.pv("BRAGG:VAL"), "bragg_readback": ioc.pv("BRAGG:RBV"),
        "gap": ioc.pv("GAP:VAL"), "gap_readback": ioc.pv("GAP:RBV"),
        "detector": ioc.pv("EDET"),
        "start_kev": 7.0, "stop_kev": 9.0, "points": points, "exposure_s": 0.02,
    });
    let (_, steps) = conduct_scan(&host, "energy-scan", "EDET", params).await;
    assert_eq!(count_kind(&steps, "action"), points);
    let bragg = last_setpoint(&steps, &ioc.pv("BRAGG:VAL"));
    let gap = last_setpoint(&steps, &ioc.pv("GAP:VAL"));
    // Si(111) at 9 keV: θ = asin(hc / (2 d E)) ≈ 12.69°; the gap from the default table,
    // interpolated between 7.5 keV (8.05 mm) and 10 keV (9.45 mm).
    let theta = (12.39842_f64 / (2.0 * 3.1356 * 9.0)).asin().to_degrees();
    assert!((bragg - theta).abs() < 1e-9, "bragg {bragg}, want {theta}");
    assert!((gap - (8.05 + 1.5 * 1.4 / 2.5)).abs() < 1e-9, "gap {gap}");

    assert_close(caget_f64(ioc.pv("BRAGG:RBV")).await, bragg, "BRAGG:RBV");
    assert_close(caget_f64(ioc.pv("GAP:RBV")).await, gap, "GAP:RBV");
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_the_ioc_denies_aborts_try_conduct_and_the_record_keeps_its_value() {
    let ioc = harness::shared();
    let ro = ioc.pv("RO:VAL");
    let script = format!("set {sp} 1.5; set {ro} 1", sp = ioc.pv("INDEP:SP"));

    // The shipped catalog marks RO read-only: the safety check refuses before anything runs.
    let guarded = host(catalog()).await;
    let id = guarded.define_script(&script).await;
    let refused = guarded
        .call(Method::POST, &format!("/procedures/{id}/try-conduct"), None)
        .await;
    assert_problem(
        &refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "safety-violation",
    );
    assert!(
        refused.1["detail"].as_str().unwrap().contains(&ro),
        "{}",
        refused.1
    );
    let (_, procedure) = guarded.get(&format!("/procedures/{id}?steps=false")).await;
    assert_eq!(procedure["status"], "Defined", "{procedure}");
    guarded.shutdown().await;

    // A catalog that forgot: the write reaches the IOC, whose access security denies it.
    let host = host(
        Catalog::parse("writes_enabled = true\n[[routes]]\nprefix = \"BT:\"\nport = \"epics\"\n")
            .unwrap(),
    )
    .await;
    let id = host.define_script(&script).await;
    let outcome = conduct(&host, &id, "try-conduct").await;
    assert_eq!(outcome["status"], "Aborted", "{outcome}");
    assert_eq!(outcome["held"], false);
    assert_eq!(outcome["completed_steps"], 1);
    assert_eq!(outcome["failure"]["step_index"], 1);
    assert_eq!(outcome["failure"]["class"], "access_denied", "{outcome}");
    assert_eq!(outcome["failure"]["target"], ro.as_str());
    assert_eq!(caget_f64(ro).await, 42.0, "the IOC kept its value");
    assert_close(caget_f64(ioc.pv("INDEP:RBV")).await, 1.5, "INDEP:RBV");
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ioc_killed_mid_conduct_holds_and_reconduct_finishes_on_the_restarted_ioc() {
    let mut rs = harness::RestartableIoc::start();
    let host = host(catalog()).await;
    let (val, rbv) = (rs.pv("MX:VAL"), rs.pv("MX:RBV"));
    // Step 0 slows the motor to 2 units/s, so each of the ten moves takes ~500 ms on the
    // first IOC and the kill lands in the middle of the scan even on a loaded machine.
    let mut script = format!("set {} 2", rs.pv("MX:VELO"));
    for i in 1..=10 {
        script.push_str(&format!("; set {val} {i} rb={rbv} tol=0.001"));
    }
    let id = host.define_script(&script).await;
    let (status, body) = host
        .call(
            Method::POST,
            &format!("/procedures/{id}/try-conduct?wait=false"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    host.wait_for(&id, |p| p["progress"]["done"].as_u64().unwrap_or(0) >= 3)
        .await;
    rs.kill();

    let held = host
        .wait_for(&id, |p| p["last_conduct"]["outcome"].is_object())
        .await;
    let outcome = &held["last_conduct"]["outcome"];
    assert_eq!(held["status"], "Held", "{held}");
    assert_eq!(held["hold_claims"], json!(["step-fault"]));
    assert_eq!(outcome["held"], true, "{outcome}");
    assert_eq!(outcome["failure"]["class"], "disconnected", "{outcome}");
    assert_eq!(outcome["failure"]["target"], val.as_str());
    let interrupted = outcome["failure"]["step_index"].as_u64().unwrap();
    assert!((3..=10).contains(&interrupted), "{outcome}");
    // The restarted IOC starts from scratch (position 0, no moves, full speed).
    rs.restart();
    let done = conduct(&host, &id, "reconduct").await;
    assert_eq!(done["status"], "Completed", "{done}");
    assert_eq!(done["actuation_kind"], "physical");
    assert_close(caget_f64(rbv.clone()).await, 10.0, "RS:MX:RBV");
    // Replay began at the interrupted step: the fresh IOC counted exactly the moves from there
    // to the end, and its velocity was never slowed (step 0 was not replayed).
    let moves = caget_f64(rs.pv("MX:MOVES")).await as u64;
    assert_eq!(moves, 10 - interrupted + 1, "interrupted at {interrupted}");
    assert_close(caget_f64(rs.pv("MX:VELO")).await, 100.0, "RS:MX:VELO");
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ioc_down_from_the_start_holds_on_timeout_and_a_reconduct_while_still_down_aborts() {
    let mut rs = harness::RestartableIoc::start();
    rs.kill();
    let host = host(catalog()).await;
    let val = rs.pv("MX:VAL");
    let id = host.define_script(&format!("set {val} 1")).await;

    // Never connected: the search times out (the catalog's connect_timeout_ms), a recoverable
    // class, so try-conduct holds.
    let held = conduct(&host, &id, "try-conduct").await;
    assert_eq!(held["status"], "Held", "{held}");
    assert_eq!(held["failure"]["class"], "timeout", "{held}");
    assert_eq!(held["failure"]["target"], val.as_str());

    // docs/procedures.md#reconduct: a reconduct's failure aborts. An operator who reconducts before the IOC is
    // back ends the procedure; the README says so.
    let aborted = conduct(&host, &id, "reconduct").await;
    assert_eq!(aborted["status"], "Aborted", "{aborted}");
    assert_eq!(aborted["failure"]["class"], "timeout", "{aborted}");
    let journal = journal(&host, &id).await;
    assert!(
        journal.iter().all(|e| e["result"] != "ok"),
        "nothing ran: {journal:?}"
    );
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_on_a_major_alarm_fails_with_bad_quality_and_holds_until_it_clears() {
    let ioc = harness::shared();
    let alarm = ioc.pv("ALARM:E2E");
    let host = host(catalog()).await;
    let script = format!(
        "between {none} 0 100; between {alarm} 0 100",
        none = ioc.pv("ALARM:NONE")
    );
    let id = host.define_script(&script).await;
    let outcome = conduct(&host, &id, "try-conduct").await;
    // 99 is within [0, 100]: the value passes, its MAJOR severity does not.
    assert_eq!(outcome["status"], "Held", "{outcome}");
    assert_eq!(outcome["completed_steps"], 1);
    assert_eq!(outcome["failure"]["step_index"], 1);
    assert_eq!(outcome["failure"]["class"], "bad_quality", "{outcome}");
    assert_eq!(outcome["failure"]["target"], alarm.as_str());

    // The alarm clears (a technician writes a value below HIHI); reconduct passes the check.
    caput(alarm.clone(), "10").await;
    let done = conduct(&host, &id, "reconduct").await;
    assert_eq!(done["status"], "Completed", "{done}");
    host.shutdown().await;
}
