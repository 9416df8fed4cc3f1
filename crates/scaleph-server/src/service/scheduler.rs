//! Job schedules: validation of a schedule, its next fire times, and the loop that claims due
//! fires and starts their runs through the engine's [`Lifecycle`](super::lifecycle::Lifecycle).
//!
//! Exactly once: a tick plans from the schedule's stored `next_fire_at` and claims the fires
//! with [`Store::claim_fires`] (a compare-and-set on `next_fire_at` plus the fire rows, in one
//! transaction), so a restart or a second server on the same database never claims a fire
//! twice. A fire claimed but not started (the process died in between) is started at the next
//! start ([`Scheduler::reconcile`]). Time zones, DST and misfire policies: `scaleph-schedule`.

use crate::error::ApiError;
use crate::AppState;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use scaleph_meta::{NewFire, RunParams, Schedule, ScheduleFields, Store};
use scaleph_schedule::{params, plan, CronSchedule, Misfire, Overlap};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;
use utoipa::ToSchema;

/// Fire states (see [`scaleph_meta::ScheduleFire::state`]).
mod fire_state {
    pub const CLAIMED: &str = "CLAIMED";
    pub const SUBMITTED: &str = "SUBMITTED";
    pub const QUEUED: &str = "QUEUED";
    pub const SKIPPED: &str = "SKIPPED";
    pub const MISSED: &str = "MISSED";
    pub const FAILED: &str = "FAILED";
}

/// How often the loop looks for due fires at most (it also wakes for the earliest next fire).
const TICK: Duration = Duration::from_millis(500);

/// A schedule as the API takes it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    /// Cron pattern: 5 fields (`30 2 * * *`), or 6–7 with seconds (and year); `L`, `W`, `#`;
    /// with a `?` it is read as Quartz (`0 0 9 ? * 2-6`, weekdays 1 = Sunday).
    pub cron: String,
    /// IANA time zone (default `UTC`).
    #[serde(default = "utc")]
    pub timezone: String,
    /// No fire before this instant (epoch ms).
    #[serde(default)]
    pub start_at: Option<i64>,
    /// No fire after this instant (epoch ms).
    #[serde(default)]
    pub end_at: Option<i64>,
    /// Paused: no fire is taken; resuming waits for the next fire after that moment.
    #[serde(default)]
    pub paused: bool,
    /// After downtime: `fire_once` (default) or `skip`.
    #[serde(default)]
    pub misfire: Misfire,
    /// When the previous run still runs: `skip` (default), `allow` or `queue`.
    #[serde(default)]
    pub overlap: Overlap,
    /// Parameters (`${name}` in the script).
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

fn utc() -> String {
    "UTC".into()
}

/// A cron pattern to try (the schedule form's preview).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CronPreviewRequest {
    /// Cron pattern.
    pub cron: String,
    /// IANA time zone (default `UTC`).
    #[serde(default = "utc")]
    pub timezone: String,
    /// Window start, epoch ms.
    #[serde(default)]
    pub start_at: Option<i64>,
    /// Window end, epoch ms.
    #[serde(default)]
    pub end_at: Option<i64>,
}

/// One upcoming fire.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FireTime {
    /// Instant, epoch ms.
    pub at: i64,
    /// Local time in the schedule's zone with its abbreviation, e.g. `2026-03-29 03:00:00 CEST`.
    pub local: String,
    /// The business date a run at this time gets (`yyyy-MM-dd`).
    pub bizdate: String,
}

/// A schedule with its next fire times.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScheduleView {
    /// The stored schedule.
    #[serde(flatten)]
    pub schedule: Schedule,
    /// The pattern in words.
    pub description: String,
    /// The next 5 fires (none while paused).
    pub next_fires: Vec<FireTime>,
}

/// The next fire times of a pattern.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CronPreview {
    /// The pattern in words.
    pub description: String,
    /// The next 5 fires.
    pub next_fires: Vec<FireTime>,
}

fn instant(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.and_then(|m| Utc.timestamp_millis_opt(m).single())
}

fn parse(
    cron: &str,
    tz: &str,
    start: Option<i64>,
    end: Option<i64>,
) -> Result<CronSchedule, ApiError> {
    CronSchedule::parse(cron, tz, instant(start), instant(end))
        .map_err(|e| ApiError::invalid(e.to_string()))
}

fn fire_times(s: &CronSchedule, from: DateTime<Utc>, n: usize) -> Vec<FireTime> {
    s.upcoming(from, n)
        .into_iter()
        .map(|f| FireTime {
            at: f.timestamp_millis(),
            local: f
                .with_timezone(&s.tz())
                .format("%Y-%m-%d %H:%M:%S %Z")
                .to_string(),
            bizdate: s.bizdate(f).format("%Y-%m-%d").to_string(),
        })
        .collect()
}

/// The next 5 fire times of a pattern.
///
/// # Errors
/// 422 naming what does not parse.
pub fn preview(r: &CronPreviewRequest) -> Result<CronPreview, ApiError> {
    let s = parse(&r.cron, &r.timezone, r.start_at, r.end_at)?;
    Ok(CronPreview {
        description: s.describe(),
        next_fires: fire_times(&s, Utc::now(), 5),
    })
}

/// `s` with its description and next fires.
///
/// # Errors
/// 500 when a stored schedule no longer parses (it was checked when saved).
pub fn view(s: Schedule) -> Result<ScheduleView, ApiError> {
    let c = parse(&s.cron, &s.timezone, s.start_at, s.end_at)?;
    let next_fires = if s.paused {
        Vec::new()
    } else {
        fire_times(&c, Utc::now(), 5)
    };
    Ok(ScheduleView {
        description: c.describe(),
        next_fires,
        schedule: s,
    })
}

/// Creates or replaces the schedule of a job; its first fire is the first after now.
///
/// # Errors
/// 422 for a pattern, zone, window or parameter name that is not valid.
pub async fn put(
    store: &Store,
    project_id: &str,
    target: scaleph_meta::Target<'_>,
    spec: ScheduleSpec,
    user: &str,
) -> Result<ScheduleView, ApiError> {
    let s = parse(&spec.cron, &spec.timezone, spec.start_at, spec.end_at)?;
    for k in spec.params.keys() {
        let ok = !k.is_empty()
            && k.len() <= 64
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            && k != "bizdate";
        if !ok {
            return Err(ApiError::invalid(format!(
                "parameter name '{k}': letters, digits, '_' and '.', at most 64, not 'bizdate' (built in)"
            )));
        }
    }
    let fields = ScheduleFields {
        cron: spec.cron.trim().to_string(),
        timezone: s.tz().name().to_string(),
        start_at: spec.start_at,
        end_at: spec.end_at,
        paused: spec.paused,
        misfire: misfire_name(spec.misfire).to_string(),
        overlap: overlap_name(spec.overlap).to_string(),
        params: spec.params,
        next_fire_at: s.next_after(Utc::now()).map(|t| t.timestamp_millis()),
    };
    let saved = store
        .put_schedule(project_id, target, &fields, user)
        .await?;
    view(saved)
}

/// A misfire policy's stored name.
fn misfire_name(m: Misfire) -> &'static str {
    match m {
        Misfire::FireOnce => "fire_once",
        Misfire::Skip => "skip",
    }
}

/// An overlap policy's stored name.
fn overlap_name(o: Overlap) -> &'static str {
    match o {
        Overlap::Allow => "allow",
        Overlap::Skip => "skip",
        Overlap::Queue => "queue",
    }
}

fn misfire_of(s: &str) -> Misfire {
    if s == "skip" {
        Misfire::Skip
    } else {
        Misfire::FireOnce
    }
}

fn overlap_of(s: &str) -> Overlap {
    match s {
        "allow" => Overlap::Allow,
        "queue" => Overlap::Queue,
        _ => Overlap::Skip,
    }
}

/// Claims due fires and starts their runs.
#[derive(Clone)]
pub struct Scheduler {
    state: AppState,
}

impl Scheduler {
    /// A scheduler over the server's state.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }

    /// Starts fires claimed by an earlier process that died before starting them, then runs
    /// the loop until the process ends.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            if let Err(e) = self.reconcile().await {
                tracing::error!(error = %e.detail(), "scheduler: reconciling claimed fires failed");
            }
            if let Err(e) = self.reconcile_backfills().await {
                tracing::error!(error = %e.detail(), "scheduler: reconciling backfills failed");
            }
            loop {
                if let Err(e) = self.tick(Utc::now()).await {
                    tracing::error!(error = %e.detail(), "scheduler tick failed");
                }
                if let Err(e) = self.tick_backfills().await {
                    tracing::error!(error = %e.detail(), "scheduler backfill tick failed");
                }
                if let Err(e) = super::workflows::tick(&self.state).await {
                    tracing::error!(error = %e.detail(), "workflow tick failed");
                }
                let wait = match self.state.store.earliest_fire().await {
                    Ok(Some(t)) => {
                        let ms =
                            (t - Utc::now().timestamp_millis()).clamp(0, TICK.as_millis() as i64);
                        Duration::from_millis(ms as u64)
                    }
                    _ => TICK,
                };
                tokio::time::sleep(wait.max(Duration::from_millis(20))).await;
            }
        })
    }

    /// Settles every fire left `CLAIMED` by a process that died: a fire whose run was created
    /// (found by its recorded parameters, or as the job's first unrecorded instance since the
    /// claim) is linked to it; the others start now.
    ///
    /// # Errors
    /// Store errors.
    pub async fn reconcile(&self) -> Result<usize, ApiError> {
        let store = &self.state.store;
        let claimed = store.fires_in_state(fire_state::CLAIMED).await?;
        let n = claimed.len();
        for f in claimed {
            let s = store.get_schedule(&f.schedule_id).await?;
            let started = match (store.run_for_fire(&s.id, f.fire_at).await?, &s.job_id) {
                (Some(i), _) => Some(i),
                (None, Some(job)) => store.unlinked_instance(job, f.claimed_at).await?,
                (None, None) => None,
            };
            match started {
                Some(i) => {
                    tracing::warn!(schedule = %s.id, fire_at = f.fire_at, instance = %i, "a fire claimed before a restart had started its run");
                    store
                        .update_fire(
                            &s.id,
                            f.fire_at,
                            fire_state::CLAIMED,
                            fire_state::SUBMITTED,
                            Some(&i),
                            None,
                        )
                        .await?;
                }
                None => {
                    tracing::warn!(schedule = %s.id, fire_at = f.fire_at, "starting a fire claimed before a restart");
                    self.start(&s, f.fire_at, fire_state::CLAIMED).await;
                }
            }
        }
        Ok(n)
    }

    /// One pass at `now`: claims and starts due fires, then starts queued fires whose job is
    /// free.
    ///
    /// # Errors
    /// Store errors.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<(), ApiError> {
        let store = &self.state.store;
        for s in store.due_schedules(now.timestamp_millis()).await? {
            let Some(expected) = s.next_fire_at else {
                continue;
            };
            let Ok(c) = parse(&s.cron, &s.timezone, s.start_at, s.end_at) else {
                continue;
            };
            let p = plan(&c, instant(Some(expected)), now, misfire_of(&s.misfire));
            let mut fires: Vec<NewFire> = p
                .missed
                .iter()
                .map(|f| NewFire {
                    fire_at: f.timestamp_millis(),
                    bizdate: c.bizdate(*f).format("%Y-%m-%d").to_string(),
                    state: fire_state::MISSED.into(),
                    reason: Some(format!(
                        "missed: due at {}, the scheduler first saw it at {} ({} policy)",
                        f.with_timezone(&c.tz()).format("%Y-%m-%d %H:%M:%S %Z"),
                        now.with_timezone(&c.tz()).format("%Y-%m-%d %H:%M:%S %Z"),
                        s.misfire
                    )),
                })
                .collect();
            fires.extend(p.run.iter().map(|f| NewFire {
                fire_at: f.timestamp_millis(),
                bizdate: c.bizdate(*f).format("%Y-%m-%d").to_string(),
                state: fire_state::CLAIMED.into(),
                reason: None,
            }));
            let next = p.next.map(|t| t.timestamp_millis());
            if !store.claim_fires(&s.id, expected, next, &fires).await? {
                continue; // another tick or server took them
            }
            for f in &p.run {
                self.start(&s, f.timestamp_millis(), fire_state::CLAIMED)
                    .await;
            }
        }
        for f in store.fires_in_state(fire_state::QUEUED).await? {
            let s = store.get_schedule(&f.schedule_id).await?;
            self.start(&s, f.fire_at, fire_state::QUEUED).await;
        }
        Ok(())
    }

    /// Starts the run of fire `fire_at` of `s`, now in state `from`; failures are recorded on
    /// the fire.
    async fn start(&self, s: &Schedule, fire_at: i64, from: &str) {
        if let Err(e) = self.try_start(s, fire_at, from).await {
            tracing::warn!(schedule = %s.id, fire_at, error = %e.detail(), "a scheduled run did not start");
            let _ = self
                .state
                .store
                .update_fire(
                    &s.id,
                    fire_at,
                    fire_state::CLAIMED,
                    fire_state::FAILED,
                    None,
                    Some(e.detail()),
                )
                .await;
        }
    }

    async fn try_start(&self, s: &Schedule, fire_at: i64, from: &str) -> Result<(), ApiError> {
        let store = &self.state.store;
        let target = RunTarget::of(&s.job_id, &s.workflow_id)?;
        let running = target.busy(&self.state).await?;
        if from == fire_state::QUEUED {
            if running.is_some() {
                return Ok(()); // still waiting
            }
            if !store
                .update_fire(
                    &s.id,
                    fire_at,
                    fire_state::QUEUED,
                    fire_state::CLAIMED,
                    None,
                    None,
                )
                .await?
            {
                return Ok(());
            }
        } else if let Some((id, state)) = running {
            let why = format!("the previous run ({id}) is still {state}");
            match overlap_of(&s.overlap) {
                Overlap::Allow => {}
                Overlap::Skip => {
                    store
                        .update_fire(
                            &s.id,
                            fire_at,
                            fire_state::CLAIMED,
                            fire_state::SKIPPED,
                            None,
                            Some(&why),
                        )
                        .await?;
                    return Ok(());
                }
                Overlap::Queue => {
                    store
                        .update_fire(
                            &s.id,
                            fire_at,
                            fire_state::CLAIMED,
                            fire_state::QUEUED,
                            None,
                            Some(&why),
                        )
                        .await?;
                    return Ok(());
                }
            }
        }
        let c = parse(&s.cron, &s.timezone, s.start_at, s.end_at)?;
        let logical =
            instant(Some(fire_at)).ok_or_else(|| ApiError::invalid("fire time out of range"))?;
        let bizdate = c.bizdate(logical);
        let inst = target
            .start(
                &self.state,
                RunAt {
                    logical,
                    tz: c.tz(),
                    bizdate,
                },
                &s.params,
                Some((&s.id, fire_at)),
                &s.created_by,
            )
            .await?;
        store
            .update_fire(
                &s.id,
                fire_at,
                fire_state::CLAIMED,
                fire_state::SUBMITTED,
                Some(&inst),
                None,
            )
            .await?;
        Ok(())
    }
}

/// When a run runs: its logical instant, zone and business date.
#[derive(Debug, Clone, Copy)]
pub struct RunAt {
    /// The scheduled instant.
    pub logical: DateTime<Utc>,
    /// The schedule's zone.
    pub tz: chrono_tz::Tz,
    /// Business date.
    pub bizdate: NaiveDate,
}

/// `job` and its `script` with parameters substituted for `ctx` — in the script, and in a Jar
/// job's program arguments — and what is recorded as the run's effective script (for a Jar
/// job, its arguments as a JSON array).
///
/// # Errors
/// 422 naming an unknown parameter or a malformed expression.
fn substituted(
    job: &scaleph_meta::Job,
    script: &str,
    ctx: &params::Context,
) -> Result<(scaleph_meta::Job, String, String), ApiError> {
    let bad =
        |e: scaleph_schedule::ScheduleError| ApiError::invalid(format!("job '{}': {e}", job.name));
    let text = params::substitute(script, ctx).map_err(bad)?;
    let mut job = job.clone();
    let recorded = match &mut job.jar {
        Some(spec) => {
            for a in &mut spec.args {
                *a = params::substitute(a, ctx).map_err(bad)?;
            }
            serde_json::to_string(&spec.args).expect("strings serialize")
        }
        None => text.clone(),
    };
    Ok((job, text, recorded))
}

/// Submits job `job_id`'s current version with parameters substituted for `at`, and records
/// what it ran with; returns the instance id.
///
/// # Errors
/// 422 for a parameter that cannot be substituted; the engine's submit errors.
pub async fn run_job(
    state: &AppState,
    job_id: &str,
    at: RunAt,
    params: &BTreeMap<String, String>,
    fire: Option<(&str, i64)>,
) -> Result<String, ApiError> {
    let store = &state.store;
    let job = store.job_by_id(job_id).await?;
    let version = store.get_version(&job.id, job.current_version).await?;
    let ctx = params::Context {
        logical: at.logical,
        tz: at.tz,
        bizdate: at.bizdate,
        params,
    };
    let (job, script, recorded) = substituted(&job, &version.script, &ctx)?;
    let inst = state
        .lifecycle(job.engine)
        .submit(&job, &script, None, false)
        .await?;
    store
        .record_run_params(&RunParams {
            instance_id: inst.id.clone(),
            bizdate: at.bizdate.format("%Y-%m-%d").to_string(),
            params: params.clone(),
            script: recorded,
            schedule_id: fire.map(|(s, _)| s.to_string()),
            fire_at: fire.map(|(_, t)| t),
        })
        .await?;
    Ok(inst.id)
}

/// The script of a manual run of `job` with its parameters substituted, and what it ran with
/// (its `instance_id` left empty): the business date given or yesterday in the zone of the
/// job's schedule (else UTC), the schedule's parameters under `params`. `None` when the script
/// names no parameter and none was given (it runs as written).
///
/// # Errors
/// 422 for a bad date or an unknown parameter (named).
pub async fn manual_script(
    store: &Store,
    job: &scaleph_meta::Job,
    script: &str,
    bizdate: Option<&str>,
    params: &BTreeMap<String, String>,
) -> Result<Option<(scaleph_meta::Job, String, RunParams)>, ApiError> {
    let jar_args = job
        .jar
        .as_ref()
        .map(|j| j.args.join(" "))
        .unwrap_or_default();
    let names_params = [script, jar_args.as_str()]
        .iter()
        .any(|s| s.contains("${") || s.contains("$["));
    if !names_params && bizdate.is_none() && params.is_empty() {
        return Ok(None);
    }
    let sched = store
        .schedule_of(scaleph_meta::Target::Job(&job.id))
        .await?;
    let tz: chrono_tz::Tz = sched
        .as_ref()
        .and_then(|s| s.timezone.parse().ok())
        .unwrap_or(chrono_tz::UTC);
    let bizdate = match bizdate {
        Some(d) => NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
            .map_err(|_| ApiError::invalid(format!("bizdate '{d}' is not a date (yyyy-MM-dd)")))?,
        None => Utc::now()
            .with_timezone(&tz)
            .date_naive()
            .pred_opt()
            .expect("a day before today"),
    };
    let mut all = sched.map(|s| s.params).unwrap_or_default();
    all.extend(params.clone());
    let ctx = params::Context {
        logical: scaleph_schedule::logical_time_of(bizdate, tz),
        tz,
        bizdate,
        params: &all,
    };
    let (job, text, recorded) = substituted(job, script, &ctx)?;
    Ok(Some((
        job,
        text,
        RunParams {
            instance_id: String::new(),
            bizdate: bizdate.format("%Y-%m-%d").to_string(),
            params: all,
            script: recorded,
            schedule_id: None,
            fire_at: None,
        },
    )))
}

/// Most dates one backfill may cover.
pub const MAX_BACKFILL_DATES: usize = 1000;

/// Most runs of one backfill at a time.
pub const MAX_BACKFILL_PARALLELISM: u32 = 8;

/// Runs of a job for a range of business dates.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BackfillRequest {
    /// First business date, `yyyy-MM-dd`.
    pub from: String,
    /// Last business date (inclusive), `yyyy-MM-dd`.
    pub to: String,
    /// Runs at a time (1 = one after another, in date order; at most 8).
    #[serde(default = "one")]
    pub parallelism: u32,
    /// Zone of the dates (default: the job's schedule's, else `UTC`): each run's logical time
    /// is midnight after its date there, so `$[…]` expressions match a scheduled run's.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Parameters (over the schedule's).
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

fn one() -> u32 {
    1
}

/// Creates a backfill of a job; the scheduler loop starts its runs.
///
/// # Errors
/// 422 for dates, zone or parallelism out of range.
pub async fn backfill(
    store: &Store,
    project_id: &str,
    target: scaleph_meta::Target<'_>,
    req: BackfillRequest,
    user: &str,
) -> Result<scaleph_meta::Backfill, ApiError> {
    let date = |s: &str| {
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .map_err(|_| ApiError::invalid(format!("'{s}' is not a date (yyyy-MM-dd)")))
    };
    let (from, to) = (date(&req.from)?, date(&req.to)?);
    if to < from {
        return Err(ApiError::invalid(format!(
            "'to' ({to}) is before 'from' ({from})"
        )));
    }
    let n = (to - from).num_days() as usize + 1;
    if n > MAX_BACKFILL_DATES {
        return Err(ApiError::invalid(format!(
            "{n} dates: a backfill covers at most {MAX_BACKFILL_DATES}"
        )));
    }
    if !(1..=MAX_BACKFILL_PARALLELISM).contains(&req.parallelism) {
        return Err(ApiError::invalid(format!(
            "parallelism must be 1 to {MAX_BACKFILL_PARALLELISM}"
        )));
    }
    let sched = store.schedule_of(target).await?;
    let tz = req
        .timezone
        .clone()
        .or_else(|| sched.as_ref().map(|s| s.timezone.clone()))
        .unwrap_or_else(utc);
    let tz: chrono_tz::Tz = tz
        .parse()
        .map_err(|_| ApiError::invalid(format!("unknown time zone '{tz}'")))?;
    let mut params = sched.map(|s| s.params).unwrap_or_default();
    params.extend(req.params);
    let dates: Vec<String> = from
        .iter_days()
        .take(n)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .collect();
    Ok(store
        .create_backfill(
            project_id,
            target,
            tz.name(),
            i64::from(req.parallelism),
            &params,
            &dates,
            user,
        )
        .await?)
}

impl Scheduler {
    /// Starts pending runs of open backfills, up to each one's parallelism.
    ///
    /// # Errors
    /// Store errors.
    pub async fn tick_backfills(&self) -> Result<(), ApiError> {
        let store = &self.state.store;
        for id in store.open_backfills().await? {
            let b = store.get_backfill(&id).await?;
            let target = RunTarget::of(&b.job_id, &b.workflow_id)?;
            let mut running = 0i64;
            for r in &b.runs {
                let busy = match (r.state.as_str(), &r.instance_id) {
                    ("CLAIMED", _) => true,
                    ("SUBMITTED", Some(i)) => target.is_running(store, i).await?,
                    _ => false,
                };
                running += i64::from(busy);
            }
            let tz: chrono_tz::Tz = b.timezone.parse().unwrap_or(chrono_tz::UTC);
            for r in b.runs.iter().filter(|r| r.state == "PENDING") {
                if running >= b.parallelism {
                    break;
                }
                if !store
                    .update_backfill_run(&b.id, r.seq, "PENDING", "CLAIMED", None, None)
                    .await?
                {
                    continue;
                }
                running += 1;
                let d = NaiveDate::parse_from_str(&r.bizdate, "%Y-%m-%d")
                    .map_err(|_| ApiError::invalid("a stored backfill date"))?;
                let at = RunAt {
                    logical: scaleph_schedule::logical_time_of(d, tz),
                    tz,
                    bizdate: d,
                };
                match target
                    .start(&self.state, at, &b.params, None, &b.created_by)
                    .await
                {
                    Ok(i) => {
                        store
                            .update_backfill_run(
                                &b.id,
                                r.seq,
                                "CLAIMED",
                                "SUBMITTED",
                                Some(&i),
                                None,
                            )
                            .await?;
                    }
                    Err(e) => {
                        running -= 1;
                        store
                            .update_backfill_run(
                                &b.id,
                                r.seq,
                                "CLAIMED",
                                "FAILED",
                                None,
                                Some(e.detail()),
                            )
                            .await?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Settles backfill runs left `CLAIMED` by a process that died: linked to the instance
    /// it had created, or pending again.
    async fn reconcile_backfills(&self) -> Result<(), ApiError> {
        let store = &self.state.store;
        for id in store.open_backfills().await? {
            let b = store.get_backfill(&id).await?;
            for r in b.runs.iter().filter(|r| r.state == "CLAIMED") {
                let linked = match &b.job_id {
                    Some(job) => store.unlinked_instance(job, b.created_at).await?,
                    None => None,
                };
                match linked {
                    Some(i) => {
                        store
                            .update_backfill_run(
                                &b.id,
                                r.seq,
                                "CLAIMED",
                                "SUBMITTED",
                                Some(&i),
                                None,
                            )
                            .await?;
                    }
                    None => {
                        store
                            .update_backfill_run(&b.id, r.seq, "CLAIMED", "PENDING", None, None)
                            .await?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// What a schedule or a backfill starts: a job's run (an instance) or a workflow's run.
#[derive(Debug, Clone, Copy)]
enum RunTarget<'a> {
    Job(&'a str),
    Workflow(&'a str),
}

impl<'a> RunTarget<'a> {
    /// The target of a schedule or backfill row (exactly one id is set).
    fn of(job: &'a Option<String>, workflow: &'a Option<String>) -> Result<Self, ApiError> {
        match (job, workflow) {
            (Some(j), None) => Ok(RunTarget::Job(j)),
            (None, Some(w)) => Ok(RunTarget::Workflow(w)),
            _ => Err(ApiError::invalid("a schedule runs one job or one workflow")),
        }
    }

    /// A run still going: (what, state).
    async fn busy(self, state: &AppState) -> Result<Option<(String, String)>, ApiError> {
        Ok(match self {
            RunTarget::Job(j) => state
                .store
                .active_job_instances(j)
                .await?
                .into_iter()
                .next()
                .map(|i| (format!("instance {}", i.id), i.state.to_string())),
            RunTarget::Workflow(w) => state
                .store
                .running_runs_of(w)
                .await?
                .into_iter()
                .next()
                .map(|r| (format!("workflow run {r}"), "RUNNING".to_string())),
        })
    }

    /// Whether the run `id` started for this target still goes.
    async fn is_running(self, store: &Store, id: &str) -> Result<bool, ApiError> {
        Ok(match self {
            RunTarget::Job(_) => store.get_instance(id).await?.ended_at.is_none(),
            RunTarget::Workflow(_) => store.get_workflow_run(id).await?.state == "RUNNING",
        })
    }

    /// Starts a run for `at`; returns the instance or workflow run id.
    async fn start(
        self,
        state: &AppState,
        at: RunAt,
        params: &BTreeMap<String, String>,
        fire: Option<(&str, i64)>,
        user: &str,
    ) -> Result<String, ApiError> {
        match self {
            RunTarget::Job(j) => run_job(state, j, at, params, fire).await,
            RunTarget::Workflow(w) => Ok(super::workflows::start_run(
                &state.store,
                w,
                at.bizdate,
                params.clone(),
                if fire.is_some() {
                    "schedule"
                } else {
                    "backfill"
                },
                user,
            )
            .await?
            .id),
        }
    }
}
