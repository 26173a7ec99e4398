//! Document export benchmark: the event-model documents of a 10 000-point grid scan (100 rows
//! of 100 points, a readback on every setpoint and three results per acquisition) from its
//! events and journal: `documents::export` alone, and with the JSONL encoding
//! `GET /procedures/{id}/documents` and `baton export` do after reading the store. Prints the
//! number of documents and the size of the JSONL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "../tests/documents/scenarios.rs"]
mod scenarios;

use std::hint::black_box;

use baton_host::documents::{self, Export};
use criterion::{Criterion, criterion_group, criterion_main};
use scenarios::{Scenario, grid_steps};

fn scan() -> Scenario {
    let mut s = Scenario::started("bench", grid_steps(100, 100));
    let n = s.steps.len();
    s.run(0, n);
    s.complete();
    s
}

fn encode(export: &Export) -> Vec<u8> {
    let mut lines = Vec::new();
    for document in &export.documents {
        serde_json::to_writer(&mut lines, document).unwrap();
        lines.push(b'\n');
    }
    lines
}

fn export_bench(c: &mut Criterion) {
    let scan = scan();
    let record = scan.record();
    let export = documents::export(&record).unwrap();
    let jsonl = encode(&export);
    println!(
        "10 000-point scan: {} steps, {} journal rows -> {} documents, {} gaps, JSONL {} bytes ({:.2} MiB)",
        scan.steps.len(),
        scan.journal.len(),
        export.documents.len(),
        export.gaps.len(),
        jsonl.len(),
        jsonl.len() as f64 / (1024.0 * 1024.0)
    );
    let mut group = c.benchmark_group("documents");
    group.sample_size(20);
    group.bench_function("export_10k_points", |b| {
        b.iter(|| documents::export(black_box(&record)).unwrap())
    });
    group.bench_function("export_and_encode_10k_points", |b| {
        b.iter(|| encode(&documents::export(black_box(&record)).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, export_bench);
criterion_main!(benches);
