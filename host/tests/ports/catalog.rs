//! The device catalog: the built-in file, its revision, and bad files with clear errors.

use std::path::Path;

use baton_host::domain::{ActuationKind, FailureClass, Value};
use baton_host::ports::catalog::DEFAULT_CATALOG;
use baton_host::ports::sim::SimChannel;
use baton_host::ports::{Catalog, CatalogError, ChannelLimits, PortKind};

fn catalog_file() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("catalogs/sim.toml")
}

#[test]
fn the_builtin_catalog_is_the_shipped_file_and_describes_the_default_beamline() {
    assert_eq!(
        std::fs::read_to_string(catalog_file()).unwrap(),
        DEFAULT_CATALOG
    );
    let catalog = Catalog::load(&catalog_file()).unwrap();
    let builtin = Catalog::builtin().unwrap();
    assert_eq!(catalog.revision(), builtin.revision());
    assert!(catalog.revision().starts_with("sha256:"));
    assert_eq!(catalog.revision().len(), "sha256:".len() + 64);

    assert!(catalog.writes_enabled());
    assert_eq!(catalog.max_steps(), 100_000);
    assert_eq!(catalog.routes().len(), 1);
    let route = catalog.route_for("sim:mx").unwrap();
    assert_eq!((route.port, route.read_only), (PortKind::Sim, false));
    assert_eq!(route.port.actuation_kind(), ActuationKind::Simulated);
    assert_eq!(
        catalog.limits_for("sim:mx"),
        Some(&ChannelLimits {
            min: Some(-20.0),
            max: Some(20.0),
            max_step: Some(10.0)
        })
    );
    for (channel, expected) in [
        ("sim:mx", SimChannel::Axis(0)),
        ("sim:mx.rbv", SimChannel::AxisReadback(0)),
        ("sim:my", SimChannel::Axis(1)),
        ("sim:mono:energy", SimChannel::Axis(2)),
        ("sim:mono:bragg", SimChannel::Axis(3)),
        ("sim:und:gap", SimChannel::Axis(4)),
        ("sim:temp:sp", SimChannel::TemperatureSetpoint(0)),
        ("sim:temp:rbv", SimChannel::TemperatureReadback(0)),
        ("sim:det", SimChannel::Detector(0)),
        ("sim:shutter", SimChannel::Shutter(0)),
    ] {
        assert_eq!(catalog.sim_channel(channel), Some(expected), "{channel}");
    }
    // The file lists the defaults explicitly: it must agree with the code's defaults.
    assert_eq!(catalog.sim(), &baton_host::ports::SimConfig::default());
}

#[tokio::test]
async fn the_builtin_catalog_builds_a_working_router() {
    let router = crate::builtin(0.0).router().unwrap();
    assert_eq!(router.route_kind("sim:det"), Some(ActuationKind::Simulated));
    router
        .write(&crate::setpoint("sim:mx", Value::Float(1.5)))
        .await
        .1
        .unwrap();
    assert_eq!(
        router.read("sim:mx.rbv").await.1.unwrap().value,
        Value::Float(1.5)
    );
    // The catalog's limits are enforced at dispatch: sim:mx max is 20 (the motor's own is 25).
    let (_, r) = router
        .write(&crate::setpoint("sim:mx", Value::Float(22.0)))
        .await;
    assert_eq!(r.unwrap_err().class, FailureClass::OutOfLimits);
    assert_eq!(router.settings().poll_interval.as_millis(), 20);
}

#[test]
fn the_revision_is_the_hash_of_the_text() {
    let a = Catalog::parse("max_steps = 10\n").unwrap();
    let b = Catalog::parse("max_steps = 10\n").unwrap();
    let c = Catalog::parse("max_steps = 10\n# a comment\n").unwrap();
    assert_eq!(a.revision(), b.revision());
    assert_ne!(a.revision(), c.revision());
    // Speeding the sim up does not change what is allowed, so the revision stays.
    let fast = a.clone().with_time_scale(0.0).unwrap();
    assert_eq!(fast.revision(), a.revision());
    assert_eq!(fast.sim().time_scale, 0.0);
    assert!(matches!(
        a.with_time_scale(f64::NAN),
        Err(CatalogError::Invalid { .. })
    ));
}

#[tokio::test]
async fn an_empty_catalog_routes_nothing() {
    let catalog = Catalog::parse("").unwrap();
    assert!(catalog.routes().is_empty());
    assert!(catalog.route_for("sim:mx").is_none());
    let router = catalog.router().unwrap();
    let (kind, r) = router.read("sim:mx").await;
    assert_eq!(kind, ActuationKind::None);
    assert_eq!(r.unwrap_err().class, FailureClass::Unrouted);
}

#[test]
fn explicit_sim_device_lists_replace_the_defaults() {
    let catalog = Catalog::parse(
        "[sim]\naxes = [{ name = \"lab:x\", velocity = 3.0 }]\ntemperatures = []\n\
         detectors = []\nshutters = []\n",
    )
    .unwrap();
    assert_eq!(catalog.sim_channel("lab:x"), Some(SimChannel::Axis(0)));
    assert_eq!(
        catalog.sim_channel("lab:x.rbv"),
        Some(SimChannel::AxisReadback(0))
    );
    assert_eq!(catalog.sim_channel("sim:mx"), None);
    assert_eq!(catalog.sim_channel("sim:det"), None);
}

fn syntax(text: &str) -> (usize, usize, String) {
    match Catalog::parse(text) {
        Err(CatalogError::Syntax {
            line,
            column,
            message,
        }) => (line, column, message),
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn syntax_and_type_errors_name_the_line() {
    let (line, _, _) = syntax("writes_enabled = true\n[[routes]\nprefix = \"sim:\"\n");
    assert_eq!(line, 2);

    let (line, column, message) = syntax("max_steps = 5\n\nwrites_enabeld = false\n");
    assert_eq!((line, column), (3, 1));
    assert!(message.contains("writes_enabeld"), "{message}");

    let (line, column, message) = syntax("max_steps = \"many\"\n");
    assert_eq!((line, column), (1, 13));
    assert!(message.contains("\"many\""), "{message}");

    let (line, _, message) = syntax("[[routes]]\nprefix = \"bl:\"\nport = \"epics\"\n");
    assert_eq!(line, 3);
    assert!(
        message.contains("epics") && message.contains("sim"),
        "{message}"
    );

    let (line, _, message) = syntax("[[routes]]\nport = \"sim\"\n");
    assert_eq!(line, 1);
    assert!(message.contains("prefix"), "{message}");

    let (line, _, message) = syntax("[limits.\"sim:mx\"]\nmin = 1.0\nmaximum = 2.0\n");
    assert_eq!(line, 3);
    assert!(message.contains("maximum"), "{message}");

    let (line, _, message) = syntax(
        "[[sim.detectors]]\nname = \"d\"\n[[sim.detectors.profile]]\nshape = \"lorentzian\"\naxis = \"sim:mx\"\n",
    );
    assert_eq!(line, 4);
    assert!(message.contains("lorentzian"), "{message}");

    let err = Catalog::parse("max_steps = 5\nmax_steps = 6\n").unwrap_err();
    assert!(err.to_string().contains("line 2"), "{err}");
}

fn invalid(text: &str) -> (String, String) {
    match Catalog::parse(text) {
        Err(CatalogError::Invalid { field, message }) => (field, message),
        other => panic!("expected an invalid field, got {other:?}"),
    }
}

#[test]
fn values_that_make_no_sense_name_the_field() {
    let cases = [
        ("max_steps = 0\n", "max_steps"),
        ("[timeouts]\nread_ms = 0\n", "timeouts.read_ms"),
        (
            "[[routes]]\nprefix = \"sim:\"\nport = \"sim\"\n[[routes]]\nprefix = \"sim:\"\nport = \"sim\"\nread_only = true\n",
            "routes[1].prefix",
        ),
        (
            "[limits.\"sim:mx\"]\nmin = 5.0\nmax = 1.0\n",
            "limits.\"sim:mx\".min",
        ),
        (
            "[limits.\"sim:mx\"]\nmax_step = 0.0\n",
            "limits.\"sim:mx\".max_step",
        ),
        ("[limits.\"sim:mx\"]\nmax = inf\n", "limits.\"sim:mx\".max"),
        ("[sim]\ntime_scale = -1.0\n", "sim.time_scale"),
        (
            "[[sim.axes]]\nname = \"a\"\nvelocity = 0.0\n",
            "sim.axes[0].velocity",
        ),
        (
            "[[sim.axes]]\nname = \"a\"\nposition = 9.0\nmax = 5.0\n",
            "sim.axes[0].position",
        ),
        (
            "[[sim.axes]]\nname = \"a\"\n[[sim.axes]]\nname = \"a\"\n",
            "sim.axes[1].name",
        ),
        (
            "[[sim.temperatures]]\nname = \"t\"\ntau_s = 0.0\n",
            "sim.temperatures[0].tau_s",
        ),
        (
            "[sim]\naxes = []\n[[sim.detectors]]\nname = \"d\"\n[[sim.detectors.profile]]\nshape = \"gaussian\"\naxis = \"sim:mx\"\ncenter = 0.0\nfwhm = 1.0\n",
            "sim.detectors[0].profile[0].axis",
        ),
        (
            "[[sim.detectors]]\nname = \"d\"\ngate = \"sim:mx\"\n",
            "sim.detectors[0].gate",
        ),
        (
            "[[sim.detectors]]\nname = \"d\"\nrate = -5.0\n",
            "sim.detectors[0].rate",
        ),
        (
            "[[sim.shutters]]\nname = \"s\"\nmove_s = -1.0\n",
            "sim.shutters[0].move_s",
        ),
        // A limit on a channel nothing serves would leave the intended one unlimited.
        ("[limits.\"sim:mx\"]\nmax = 1.0\n", "limits.\"sim:mx\""),
        (
            "[[routes]]\nprefix = \"sim:\"\nport = \"sim\"\n[limits.\"sim:mxx\"]\nmax = 1.0\n",
            "limits.\"sim:mxx\"",
        ),
        (
            "[[routes]]\nprefix = \"sim:\"\nport = \"sim\"\n[limits.\"sim:mx.rbv\"]\nmax = 1.0\n",
            "limits.\"sim:mx.rbv\"",
        ),
    ];
    for (text, field) in cases {
        let (got, message) = invalid(text);
        assert_eq!(got, field, "{text}: {message}");
        assert!(!message.is_empty());
    }
}

#[test]
fn a_missing_file_is_an_io_error_naming_the_path() {
    let err = Catalog::load(Path::new("/nonexistent/catalog.toml")).unwrap_err();
    assert!(matches!(err, CatalogError::Io { .. }));
    assert!(
        err.to_string().contains("/nonexistent/catalog.toml"),
        "{err}"
    );
}
