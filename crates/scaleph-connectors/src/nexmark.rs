//! `'connector' = 'nexmark'`: the Nexmark benchmark's event stream, with the option names and
//! table schema of the nexmark-flink connector (`NexmarkSourceOptions`, `ddl_gen.sql`):
//!
//! ```sql
//! CREATE TABLE nexmark (
//!   event_type INT,
//!   person ROW<id BIGINT, name VARCHAR, emailAddress VARCHAR, creditCard VARCHAR, city VARCHAR,
//!              state VARCHAR, dateTime TIMESTAMP(3), extra VARCHAR>,
//!   auction ROW<id BIGINT, itemName VARCHAR, description VARCHAR, initialBid BIGINT,
//!               reserve BIGINT, dateTime TIMESTAMP(3), expires TIMESTAMP(3), seller BIGINT,
//!               category BIGINT, extra VARCHAR>,
//!   bid ROW<auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
//!           dateTime TIMESTAMP(3), extra VARCHAR>,
//!   dateTime AS CASE WHEN event_type = 0 THEN person.dateTime
//!                    WHEN event_type = 1 THEN auction.dateTime ELSE bid.dateTime END,
//!   WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
//! ) WITH ('connector' = 'nexmark', 'events.num' = '…', 'first-event.rate' = '…', …);
//! ```
//!
//! Events come from the `nexmark` crate (the Nexmark generator's formulas: proportions,
//! hot ratios, in-flight auctions, active people; deterministic per event number). Event time
//! advances by the rate (`first-event.rate`/`next-event.rate`, `rate.shape`, `rate.period`) from
//! the start; emission is as fast as possible unless `rate.limited`, which paces it to event
//! time. `events.num` = 0 (default) is unbounded.

use crate::{Connector, Options, Sink, StartAt};
use datafusion::arrow::array::{
    Array, ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray, StructArray,
    TimestampMillisecondArray,
};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::catalog::streaming::StreamingTable;
use datafusion::catalog::TableProvider;
use datafusion::error::Result;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use nexmark::config::{NexmarkConfig, RateShape};
use nexmark::event::Event;
use nexmark::EventGenerator;
use scaleph_sql::{SqlError, TableDef};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Events per batch.
const BATCH: usize = 4096;

/// Field counts of the `person`, `auction` and `bid` rows, as nexmark-flink declares them.
const WIDTHS: [(&str, usize); 3] = [("person", 8), ("auction", 10), ("bid", 7)];

pub(crate) struct Nexmark {
    def: TableDef,
    schema: SchemaRef,
    cfg: NexmarkConfig,
    /// `None`: unbounded.
    events: Option<u64>,
    rate_limited: bool,
}

impl Nexmark {
    pub(crate) fn new(def: &TableDef) -> Result<Self, SqlError> {
        let mut o = Options::new(def);
        let positive = |o: &mut Options, key: &str, default: u64| -> Result<usize, SqlError> {
            let v: u64 = o.parse(key, "a positive integer")?.unwrap_or(default);
            if v == 0 {
                return Err(SqlError::invalid(
                    o.pos(key),
                    format!("option '{key}' must be positive"),
                ));
            }
            usize::try_from(v).map_err(|_| SqlError::invalid(o.pos(key), "out of range"))
        };
        let mut cfg = NexmarkConfig {
            rate_shape: RateShape::Square,
            ..NexmarkConfig::default()
        };
        cfg.first_rate = positive(&mut o, "first-event.rate", 10_000)?;
        cfg.next_rate = positive(&mut o, "next-event.rate", 10_000)?;
        cfg.person_proportion = positive(&mut o, "person.proportion", 1)?;
        cfg.auction_proportion = positive(&mut o, "auction.proportion", 3)?;
        cfg.bid_proportion = positive(&mut o, "bid.proportion", 46)?;
        cfg.hot_auction_ratio = positive(&mut o, "bid.hot-ratio.auctions", 2)?;
        cfg.hot_bidder_ratio = positive(&mut o, "bid.hot-ratio.bidders", 4)?;
        cfg.hot_seller_ratio = positive(&mut o, "auction.hot-ratio.sellers", 4)?;
        for (key, field) in [
            ("person.avg-size", &mut cfg.avg_person_byte_size),
            ("auction.avg-size", &mut cfg.avg_auction_byte_size),
            ("bid.avg-size", &mut cfg.avg_bid_byte_size),
        ] {
            if let Some(b) = o.bytes(key)? {
                *field = usize::try_from(b.clamp(1, 1 << 20)).unwrap_or(1 << 20);
            }
        }
        cfg.rate_shape = match o.get("rate.shape").map(str::to_ascii_uppercase).as_deref() {
            None | Some("SQUARE") => RateShape::Square,
            Some("SINE") => RateShape::Sine,
            Some(other) => {
                return Err(SqlError::invalid(
                    o.pos("rate.shape"),
                    format!("option 'rate.shape' must be SQUARE or SINE, found '{other}'"),
                ))
            }
        };
        if let Some(ms) = o.duration_ms("rate.period")? {
            cfg.rate_period = usize::try_from((ms / 1000).max(1)).unwrap_or(600);
        }
        let rate_limited = o.bool("rate.limited", false)?;
        let events: u64 = o.parse("events.num", "an event count")?.unwrap_or(0);
        let stop_at: i64 = o.parse("stop-at", "an event number")?.unwrap_or(-1);
        o.bool("keep-alive", false)?;
        o.bool("max-emit-speed", true)?;
        o.finish()?;
        let mut events = (events > 0).then_some(events);
        if stop_at >= 0 {
            events = Some(events.map_or(stop_at as u64, |e| e.min(stop_at as u64)));
        }
        check_schema(def)?;
        Ok(Self {
            def: def.clone(),
            schema: Arc::new(def.arrow_schema()),
            cfg,
            events,
            rate_limited,
        })
    }
}

/// The table's physical columns must be nexmark-flink's: `event_type` and the three rows with
/// their field counts (types are cast to the declared ones).
fn check_schema(def: &TableDef) -> Result<(), SqlError> {
    let schema = def.arrow_schema();
    let bad = |what: String| {
        SqlError::invalid(
            def.pos,
            format!(
                "table `{}`: the nexmark connector produces event_type INT, person ROW<8 fields>, \
                 auction ROW<10 fields>, bid ROW<7 fields> (nexmark-flink's schema); {what}",
                def.name
            ),
        )
    };
    if schema.fields().len() != 4 {
        return Err(bad(format!(
            "found {} physical columns",
            schema.fields().len()
        )));
    }
    if !schema.field(0).data_type().is_integer() {
        return Err(bad(format!("column 1 is {}", schema.field(0).data_type())));
    }
    for (i, (name, width)) in WIDTHS.iter().enumerate() {
        match schema.field(i + 1).data_type() {
            DataType::Struct(f) if f.len() == *width => {}
            other => return Err(bad(format!("column {} ({name}) is {other}", i + 2))),
        }
    }
    Ok(())
}

impl Connector for Nexmark {
    fn source(&self) -> Result<Arc<dyn TableProvider>, SqlError> {
        let part = Arc::new(NexmarkPartition {
            schema: self.schema.clone(),
            cfg: self.cfg.clone(),
            events: self.events,
            rate_limited: self.rate_limited,
        });
        StreamingTable::try_new(self.schema.clone(), vec![part])
            .map(|t| Arc::new(t) as Arc<dyn TableProvider>)
            .map_err(|e| SqlError::invalid(self.def.pos, e.to_string()))
    }

    fn bounded(&self) -> bool {
        self.events.is_some()
    }

    fn sink(&self) -> Result<Arc<dyn Sink>, SqlError> {
        Err(SqlError::invalid(
            self.def.pos,
            format!(
                "table `{}` uses connector 'nexmark', which can only be read",
                self.def.name
            ),
        ))
    }
}

#[derive(Debug)]
struct NexmarkPartition {
    schema: SchemaRef,
    cfg: NexmarkConfig,
    events: Option<u64>,
    rate_limited: bool,
}

impl PartitionStream for NexmarkPartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let total = self.events.unwrap_or(u64::MAX);
        // A restored job continues after the events its checkpoint counted.
        let first = match ctx.session_config().get_extension::<StartAt>() {
            Some(at) => {
                at.honored.store(true, std::sync::atomic::Ordering::SeqCst);
                at.rows.min(total)
            }
            None => 0,
        };
        let schema = self.schema.clone();
        let gen = EventGenerator::new(self.cfg.clone()).with_offset(first);
        let start = (Instant::now(), gen.timestamp());
        let limited = self.rate_limited;
        let s = futures::stream::unfold((gen, first), move |(mut gen, done)| {
            let schema = schema.clone();
            async move {
                if done >= total {
                    return None;
                }
                let n = (BATCH as u64).min(total - done) as usize;
                if limited {
                    // Emit no earlier than the event time, counted from the start.
                    let ahead = gen.timestamp().saturating_sub(start.1);
                    let due = Duration::from_millis(ahead);
                    if let Some(wait) = due.checked_sub(start.0.elapsed()) {
                        tokio::time::sleep(wait).await;
                    }
                }
                let events: Vec<Event> = gen.by_ref().take(n).collect();
                let b = batch(&schema, &events);
                Some((b, (gen, done + n as u64)))
            }
        });
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), s))
    }
}

fn strings<'a>(v: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(v.collect::<StringArray>())
}

fn longs(v: impl Iterator<Item = Option<i64>>) -> ArrayRef {
    Arc::new(v.collect::<Int64Array>())
}

fn times(v: impl Iterator<Item = Option<u64>>) -> ArrayRef {
    Arc::new(
        v.map(|t| t.map(|t| t as i64))
            .collect::<TimestampMillisecondArray>(),
    )
}

/// `children` (nexmark-flink's field order) as a struct of the declared type `dt`, NULL where
/// `valid` is false.
fn row(dt: &DataType, children: Vec<ArrayRef>, valid: Vec<bool>) -> Result<ArrayRef> {
    let DataType::Struct(fields) = dt else {
        unreachable!("checked by check_schema")
    };
    let cols = children
        .iter()
        .zip(fields.iter())
        .map(|(c, f)| cast(c, f.data_type()))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(Arc::new(StructArray::try_new(
        fields.clone(),
        cols,
        Some(NullBuffer::from(valid)),
    )?))
}

/// A batch of `events` in the table's schema.
fn batch(schema: &SchemaRef, events: &[Event]) -> Result<RecordBatch> {
    fn person(e: &Event) -> Option<&nexmark::event::Person> {
        match e {
            Event::Person(p) => Some(p),
            _ => None,
        }
    }
    fn auction(e: &Event) -> Option<&nexmark::event::Auction> {
        match e {
            Event::Auction(a) => Some(a),
            _ => None,
        }
    }
    fn bid(e: &Event) -> Option<&nexmark::event::Bid> {
        match e {
            Event::Bid(b) => Some(b),
            _ => None,
        }
    }
    let kind: ArrayRef = Arc::new(
        events
            .iter()
            .map(|e| match e {
                Event::Person(_) => 0,
                Event::Auction(_) => 1,
                Event::Bid(_) => 2,
            })
            .collect::<Int32Array>(),
    );
    let ps = || events.iter().map(person);
    let persons = row(
        schema.field(1).data_type(),
        vec![
            longs(ps().map(|p| p.map(|p| p.id as i64))),
            strings(ps().map(|p| p.map(|p| p.name.as_str()))),
            strings(ps().map(|p| p.map(|p| p.email_address.as_str()))),
            strings(ps().map(|p| p.map(|p| p.credit_card.as_str()))),
            strings(ps().map(|p| p.map(|p| p.city.as_str()))),
            strings(ps().map(|p| p.map(|p| p.state.as_str()))),
            times(ps().map(|p| p.map(|p| p.date_time))),
            strings(ps().map(|p| p.map(|p| p.extra.as_str()))),
        ],
        ps().map(|p| p.is_some()).collect(),
    )?;
    let au = || events.iter().map(auction);
    let auctions = row(
        schema.field(2).data_type(),
        vec![
            longs(au().map(|a| a.map(|a| a.id as i64))),
            strings(au().map(|a| a.map(|a| a.item_name.as_str()))),
            strings(au().map(|a| a.map(|a| a.description.as_str()))),
            longs(au().map(|a| a.map(|a| a.initial_bid as i64))),
            longs(au().map(|a| a.map(|a| a.reserve as i64))),
            times(au().map(|a| a.map(|a| a.date_time))),
            times(au().map(|a| a.map(|a| a.expires))),
            longs(au().map(|a| a.map(|a| a.seller as i64))),
            longs(au().map(|a| a.map(|a| a.category as i64))),
            strings(au().map(|a| a.map(|a| a.extra.as_str()))),
        ],
        au().map(|a| a.is_some()).collect(),
    )?;
    let bs = || events.iter().map(bid);
    let bids = row(
        schema.field(3).data_type(),
        vec![
            longs(bs().map(|b| b.map(|b| b.auction as i64))),
            longs(bs().map(|b| b.map(|b| b.bidder as i64))),
            longs(bs().map(|b| b.map(|b| b.price as i64))),
            strings(bs().map(|b| b.map(|b| b.channel.as_str()))),
            strings(bs().map(|b| b.map(|b| b.url.as_str()))),
            times(bs().map(|b| b.map(|b| b.date_time))),
            strings(bs().map(|b| b.map(|b| b.extra.as_str()))),
        ],
        bs().map(|b| b.is_some()).collect(),
    )?;
    let kind = cast(&kind, schema.field(0).data_type())?;
    let n = kind.len();
    Ok(RecordBatch::try_new_with_options(
        schema.clone(),
        vec![kind, persons, auctions, bids],
        &datafusion::arrow::array::RecordBatchOptions::new().with_row_count(Some(n)),
    )?)
}
