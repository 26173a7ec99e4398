//! Integration tests of the store: one conformance suite run against every backend (file
//! SQLite, in-memory SQLite, PostgreSQL when `BATON_TEST_POSTGRES_URL` is set), plus the
//! SQLite-only killed-process durability test and the `open` URL parsing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "store/conformance.rs"]
mod conformance;
#[path = "store/durability.rs"]
mod durability;
#[path = "store/harness.rs"]
mod harness;
#[path = "store/open.rs"]
mod open;
#[path = "store/procedures.rs"]
mod procedures;
#[path = "store/runs.rs"]
mod runs;

/// Instantiates each named conformance test once per backend.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite_file {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = crate::harness::sqlite_file().await;
                    crate::conformance::$name(&db.store).await;
                }
            )*
        }
        mod sqlite_memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let store = crate::harness::sqlite_memory().await;
                    crate::conformance::$name(&store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = crate::harness::postgres().await else { return };
                    crate::conformance::$name(&db.store).await;
                }
            )*
        }
    };
}

conformance!(
    append_and_read,
    stale_version_is_a_typed_conflict,
    racing_appends_one_wins,
    read_all_is_in_position_order,
    bad_appends_are_refused,
    history_is_append_only,
    payloads_are_queryable_in_the_database,
    pinned_steps_round_trip,
    journal_is_idempotent_and_dense,
    journal_refuses_bad_entries,
    interrupted_step_is_the_last_open_marker,
    components_by_digest,
    concurrent_journal_writers_keep_sequences_dense,
    projection_follows_every_status,
    projection_rebuild_equals_live,
    list_filters_and_keyset_paging,
    unknown_event_type_fails_loudly,
    handler_refuses_and_conflicts,
    parent_run_guards,
    generic_handle_with_any_decider,
    run_projection_follows_every_status,
    run_projection_rebuild_equals_live,
    run_list_filters_and_keyset_paging,
);
