//! Exactly-once output of an embedded streaming job across `kill -9` of the server: a
//! checkpointing job writes a sequence into a filesystem table; the server is killed at random
//! moments and started again, resuming the job from its latest checkpoint each time.

mod common;

use common::Server;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// Ids in the committed (visible) files of a CSV table.
fn committed_ids(dir: &Path) -> Vec<i64> {
    let mut ids = Vec::new();
    for f in common::files_under(dir) {
        let hidden = f
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(['.', '_']));
        if hidden {
            continue;
        }
        for line in std::fs::read_to_string(&f).unwrap().lines() {
            ids.push(line.trim().parse().unwrap_or_else(|_| panic!("{line:?}")));
        }
    }
    ids
}

/// A small pseudo-random sequence (xorshift), seeded from the clock and printed, so a failing
/// run can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_twenty_times_every_id_exactly_once() {
    const ROWS: i64 = 24_000;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = tmp.path().join("out");
    let script = format!(
        "SET 'execution.checkpointing.interval' = '250 ms';
CREATE TABLE seq (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '{ROWS}',
  'rows-per-second' = '2000', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1',
  'fields.id.end' = '{ROWS}');
CREATE TABLE out (id BIGINT) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv',
  'sink.rolling-policy.rollover-interval' = '1 s');
INSERT INTO out SELECT id FROM seq;",
        out.display()
    );
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("seed {seed}");
    let mut rng = Rng(seed);
    let mut srv = Server::start(&data);
    let pid = srv.project("eo").await;
    let jid = srv.job(&pid, "sequence", &script).await;
    let (s, inst) = srv.submit(&pid, &jid).await;
    assert_eq!(s, 202, "{inst}");
    let iid = inst["id"].as_str().unwrap().to_string();
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(200 + rng.below(900))).await;
        srv.kill();
        srv = Server::start(&data);
    }
    let d = srv
        .wait_for(&iid, Duration::from_secs(120), |d| {
            matches!(
                d["state"].as_str(),
                Some("FINISHED" | "FAILED" | "CANCELED")
            )
        })
        .await;
    assert_eq!(d["state"], "FINISHED", "{d}");
    let resumed = d["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["state"] == "RESTARTING")
        .count();
    assert!(resumed >= 15, "resumed {resumed} times: {}", d["history"]);
    let reasons: Vec<&str> = d["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h: &Value| h["reason"].as_str())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("resuming from checkpoint chk-")),
        "{reasons:?}"
    );
    let mut ids = committed_ids(&out);
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(n, ids.len(), "{} ids written more than once", n - ids.len());
    assert_eq!(ids, (1..=ROWS).collect::<Vec<_>>(), "every id exactly once");
    assert!(
        !data.join("checkpoints").join(&iid).exists(),
        "a finished instance's checkpoints are removed"
    );
}
