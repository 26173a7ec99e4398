//! The export's inputs are what the store hands out: a scenario written to an in-memory SQLite
//! store (events with their pin, journal rows stamped when appended) and read back with
//! `read_stream`, `pinned_steps` and `journal` exports the same documents, times aside.

use baton_host::documents::{self, ComponentName, ProcedureRecord};
use baton_host::domain::DomainEvent;
use baton_host::domain::procedure::ProcedureEvent;
use baton_host::store::{
    AppendRequest, EventStore, JournalPage, NewEvent, PinnedSteps, SqliteStore, StepJournal,
    procedure_stream,
};
use serde_json::Value as Json;
use time::OffsetDateTime;

use super::scenarios::{self, Scenario};

/// The documents as JSON with every `time` and `timestamps` member removed.
fn timeless(export: &documents::Export) -> Vec<Json> {
    fn strip(value: &mut Json) {
        if let Json::Object(map) = value {
            map.remove("time");
            map.remove("timestamps");
            map.values_mut().for_each(strip);
        } else if let Json::Array(items) = value {
            items.iter_mut().for_each(strip);
        }
    }
    export
        .documents
        .iter()
        .map(|d| {
            let mut value = serde_json::to_value(d).unwrap();
            strip(&mut value);
            value
        })
        .collect()
}

/// Writes `scenario` to `store` in the order it happened: events that share an instant in one
/// append (start and pin), each journal row stamped now.
async fn write(store: &SqliteStore, scenario: &Scenario) {
    let stream = procedure_stream(scenario.id);
    let pins = [PinnedSteps::new(scenario.steps.clone()).unwrap()];
    let mut version = 0;
    let mut rows = scenario.journal.iter().peekable();
    let mut events = scenario.events.iter().peekable();
    while let Some((_, at)) = events.peek() {
        let at = *at;
        while let Some(row) = rows.next_if(|r| r.entry.at < at) {
            let mut entry = row.entry.clone();
            entry.at = OffsetDateTime::now_utc();
            store.append_journal(&[entry]).await.unwrap();
        }
        let mut batch = Vec::new();
        let mut pinned = false;
        while let Some((event, _)) = events.next_if(|(_, t)| *t == at) {
            pinned |= matches!(event, ProcedureEvent::ResolvedStepsRecorded(_));
            let (event_type, payload) = event.to_stored().unwrap();
            batch.push(NewEvent::new(event_type, payload));
        }
        let request = AppendRequest::new(&stream, version, &batch);
        let request = if pinned {
            request.with_pins(&pins)
        } else {
            request
        };
        version += store.append(request).await.unwrap().len() as u64;
    }
    for row in rows {
        let mut entry = row.entry.clone();
        entry.at = OffsetDateTime::now_utc();
        store.append_journal(&[entry]).await.unwrap();
    }
}

#[tokio::test]
async fn what_the_store_returns_exports_like_the_history_it_was_given() {
    for scenario in scenarios::all() {
        let store = SqliteStore::memory().await.unwrap();
        write(&store, &scenario).await;

        let recorded = store
            .read_stream(&procedure_stream(scenario.id))
            .await
            .unwrap();
        let events = documents::decode_events(&recorded).unwrap();
        let hash = events
            .iter()
            .find_map(|(e, _)| match e {
                ProcedureEvent::ResolvedStepsRecorded(r) => Some(r.pin.content_hash.clone()),
                _ => None,
            })
            .unwrap();
        let steps = store
            .pinned_steps(&hash)
            .await
            .unwrap()
            .unwrap()
            .steps()
            .to_vec();
        let journal = store
            .journal(scenario.id, JournalPage::first(JournalPage::MAX_LIMIT))
            .await
            .unwrap();
        let from_store = documents::export(&ProcedureRecord {
            id: scenario.id,
            events: &events,
            steps: &steps,
            component: ComponentName {
                name: "grid-scan",
                version: "0.3.1",
            },
            journal: &journal,
        })
        .unwrap();
        let given = scenario.export();
        assert_eq!(timeless(&from_store), timeless(&given), "{}", scenario.name);
        assert_eq!(from_store.gaps, given.gaps, "{}", scenario.name);
        store.close().await;
    }
}
