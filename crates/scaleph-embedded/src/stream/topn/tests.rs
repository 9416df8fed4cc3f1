//! [`TopN`] against [`Rank`] over insert-only input (the operator it stands in for, compared
//! with Flink by the streaming tests): the same changelog on the same input, chunk by chunk,
//! and state that moves between the two through a snapshot.

use super::*;
use crate::stream::checkpoint::{StateReader, StateWriter};
use crate::stream::rank::Rank;
use crate::stream::store::tests::Lcg;
use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::physical_expr::expressions::Column;

fn input() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("k", DataType::Int64, true),
        Field::new("v", DataType::Int64, true),
        Field::new("s", DataType::Utf8, true),
    ]))
}

fn output() -> SchemaRef {
    let mut fields: Vec<Field> = input().fields().iter().map(|f| (**f).clone()).collect();
    fields.push(Field::new("rn", DataType::UInt64, false));
    Arc::new(Schema::new(fields))
}

/// Chunks of rows: 40 partitions (one NULL), values with many ties, strings with repeats (rows
/// equal to the one ranked first).
fn chunks(seed: u64) -> Vec<Chunk> {
    let mut rng = Lcg(seed);
    let mut out = Vec::new();
    for size in [1, 5, 300, 1, 2, 1000, 64, 7, 2000, 3] {
        let k: Int64Array = (0..size)
            .map(|_| {
                let k = rng.next() % 41;
                (k != 40).then_some(k as i64)
            })
            .collect();
        let v: Int64Array = (0..size)
            .map(|_| {
                let v = rng.next() % 30;
                (v != 29).then_some(v as i64)
            })
            .collect();
        let s: StringArray = (0..size)
            .map(|_| Some(format!("s{}", rng.next() % 3)))
            .collect();
        let b = RecordBatch::try_new(
            input(),
            vec![Arc::new(k) as ArrayRef, Arc::new(v), Arc::new(s)],
        )
        .unwrap();
        out.push(Chunk::inserts(b));
    }
    out
}

fn col(name: &str, i: usize) -> Arc<dyn PhysicalExpr> {
    Arc::new(Column::new(name, i))
}

fn ops(ties: Ties, descending: bool, (lo, hi): (u64, u64)) -> (TopN, Rank) {
    let order = vec![(
        col("v", 1),
        SortOptions {
            descending,
            nulls_first: false,
        },
    )];
    let types: Vec<DataType> = input()
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect();
    let topn = TopN::new(
        vec![col("k", 0)],
        order.clone(),
        (lo, hi),
        ties,
        true,
        output(),
        types.clone(),
    );
    let rank = Rank::new(
        vec![col("k", 0)],
        order,
        (lo, hi),
        ties,
        true,
        None,
        true,
        output(),
        types,
    );
    (topn, rank)
}

/// The output of `op` on `chunks`, as one batch and its kinds.
fn run(op: &mut dyn Operator, chunks: &[Chunk]) -> (RecordBatch, Vec<u8>) {
    let mut out = Vec::new();
    for c in chunks {
        op.process(0, c.clone(), &mut out).unwrap();
    }
    let batches: Vec<&RecordBatch> = out.iter().map(|c| &c.batch).collect();
    let kinds = out
        .iter()
        .flat_map(|c| {
            c.kinds
                .clone()
                .unwrap_or_else(|| vec![0; c.batch.num_rows()])
        })
        .collect();
    (concat_batches(&output(), batches).unwrap(), kinds)
}

/// Rank ranges tried: Top-1, Top-3, ranks 2..=4, ranks 3..=3.
const RANGES: [(u64, u64); 4] = [(1, 1), (1, 3), (2, 4), (3, 3)];

#[test]
fn topn_emits_what_rank_emits() {
    for range in RANGES {
        for (ties, descending) in [
            (Ties::Oldest, false),
            (Ties::Oldest, true),
            (Ties::Newest, true),
            (Ties::Newest, false),
        ] {
            let input = chunks(5);
            let (mut topn, mut rank) = ops(ties, descending, range);
            let a = run(&mut topn, &input);
            let b = run(&mut rank, &input);
            assert!(
                a.0.num_rows() > 40,
                "{ties:?} {range:?}: {} rows",
                a.0.num_rows()
            );
            assert_eq!(a, b, "{ties:?} descending={descending} {range:?}");
            assert_eq!(topn.state_rows(), rank.state_rows(), "{range:?}");
        }
    }
}

#[test]
fn topn_state_moves_to_and_from_rank() {
    for range in RANGES {
        for ties in [Ties::Oldest, Ties::Newest] {
            let (first, second) = (chunks(9), chunks(10));
            // Top-N snapshotted, restored into a Rank (and the other way round), then all
            // continue with the same rows.
            let (mut topn, mut rank) = ops(ties, true, range);
            run(&mut topn, &first);
            run(&mut rank, &first);
            let snap = |op: &mut dyn Operator| {
                let mut w = StateWriter::default();
                assert!(op.snapshot(&mut w).unwrap());
                w.buf
            };
            let (t, r) = (snap(&mut topn), snap(&mut rank));
            let (mut topn_from_rank, mut rank_from_topn) = ops(ties, true, range);
            topn_from_rank.restore(&mut StateReader::new(&r)).unwrap();
            rank_from_topn.restore(&mut StateReader::new(&t)).unwrap();
            let expected = run(&mut rank, &second);
            assert_eq!(
                run(&mut topn_from_rank, &second),
                expected,
                "{ties:?} {range:?}"
            );
            assert_eq!(
                run(&mut rank_from_topn, &second),
                expected,
                "{ties:?} {range:?}"
            );
            assert_eq!(run(&mut topn, &second), expected, "{ties:?} {range:?}");
        }
    }
}

#[test]
fn empty_rank_ranges_keep_and_emit_nothing() {
    // `rn <= 0` and `rn BETWEEN 3 AND 2`.
    for range in [(1, 0), (3, 2)] {
        let input = chunks(5);
        let (mut topn, mut rank) = ops(Ties::Oldest, false, range);
        let a = run(&mut topn, &input);
        assert_eq!(a.0.num_rows(), 0, "{range:?}");
        assert_eq!(a, run(&mut rank, &input), "{range:?}");
        assert_eq!(topn.state_rows(), 0, "{range:?}");
        let mut w = StateWriter::default();
        topn.snapshot(&mut w).unwrap();
        let (mut restored, _) = ops(Ties::Oldest, false, range);
        restored.restore(&mut StateReader::new(&w.buf)).unwrap();
    }
}
