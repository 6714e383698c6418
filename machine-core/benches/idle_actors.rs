//! What an idle actor costs: spawn time and memory of 100,000 idle `Tally` actors (a 16-byte
//! state), with the default mailbox (1,024) and a small one (16); and what an actor keeps after
//! one full batch.
//!
//! A bench binary that prints its figures. Memory is the growth of the resident set
//! (`VmRSS` of `/proc/self/status`: the resident count of `/proc/self/statm`, in kB rather than
//! pages) and of the live heap bytes counted by this binary's global allocator. Each configuration runs in a child process
//! of its own, so memory freed by one run cannot hide the growth of the next.

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use machine_core::{ActorRef, ActorSystem, SpawnOptions};
use tokio::runtime::Runtime;

#[path = "support/tally.rs"]
mod tally;

use tally::{nth_event, Tally, TallyEvent};

const ACTORS: usize = 100_000;
/// Actors in the burst run: each gets one full mailbox, taken as one batch.
const BURST_ACTORS: usize = 10_000;
const BURST: u64 = 1024;

/// The system allocator, counting live bytes and, while tracing, listing each allocation.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static TRACING: AtomicBool = AtomicBool::new(false);
static TRACED: [(AtomicUsize, AtomicUsize); 32] =
    [const { (AtomicUsize::new(0), AtomicUsize::new(0)) }; 32];
static TRACED_LEN: AtomicUsize = AtomicUsize::new(0);

fn counted(layout: Layout) {
    LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
    if TRACING.load(Ordering::Relaxed) {
        let index = TRACED_LEN.fetch_add(1, Ordering::Relaxed);
        if let Some((size, align)) = TRACED.get(index) {
            size.store(layout.size(), Ordering::Relaxed);
            align.store(layout.align(), Ordering::Relaxed);
        }
    }
}

// SAFETY: every call is forwarded to `System` with the caller's arguments unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            counted(layout);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            counted(layout);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Resident set and live heap, in bytes.
#[derive(Clone, Copy)]
struct Usage {
    rss: i64,
    heap: i64,
}

impl Usage {
    fn now() -> Self {
        let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
        let kib: i64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS");
        Self {
            rss: kib * 1024,
            heap: LIVE.load(Ordering::Relaxed) as i64,
        }
    }

    /// Prints the growth since `before`, per actor, beyond each actor's state.
    fn report_since(self, before: Usage, actors: usize, what: &str) {
        let state = std::mem::size_of::<Tally>() as i64;
        let per = |bytes: i64| bytes / actors as i64 - state;
        println!(
            "  {what}: RSS +{:.1} MiB = {} B per actor beyond the {state}-B state; \
             heap +{:.1} MiB = {} B per actor beyond the state",
            (self.rss - before.rss) as f64 / 1048576.0,
            per(self.rss - before.rss),
            (self.heap - before.heap) as f64 / 1048576.0,
            per(self.heap - before.heap),
        );
    }
}

fn multi_thread() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Spawns one actor per id, keeping no handle (the system's registry holds one), and waits
/// until each has answered once. Returns the time the spawns took and the time until all
/// answered.
async fn spawn_all(system: &ActorSystem, ids: &[String], mailbox: usize) -> (Duration, Duration) {
    let env = Arc::new(());
    let start = Instant::now();
    for id in ids {
        let options = SpawnOptions::new().mailbox(mailbox);
        let actor = system.spawn_with(id, Tally::default(), Arc::clone(&env), options);
        actor.expect("spawn");
    }
    let spawned = start.elapsed();
    for id in ids {
        let actor: ActorRef<Tally> = system.get(id).expect("running");
        actor.version().await.expect("version");
    }
    (spawned, start.elapsed())
}

/// 100,000 idle actors with a mailbox of `mailbox`, then one more with its allocations listed.
fn idle(mailbox: usize) {
    println!("idle_actors: {ACTORS} actors, mailbox {mailbox}, multi-thread runtime (2 workers)");
    let ids: Vec<String> = (0..ACTORS).map(|i| format!("idle-{i:06}")).collect();
    let runtime = multi_thread();
    runtime.block_on(async {
        let system = ActorSystem::new();
        // A first actor, so that one-time allocations are not counted.
        spawn_all(&system, &["first".into()], mailbox).await;
        let before = Usage::now();
        let (spawned, started) = spawn_all(&system, &ids, mailbox).await;
        let per_actor = spawned.as_secs_f64() * 1e6 / ACTORS as f64;
        println!(
            "  spawn: {:.0} ms, {per_actor:.2} µs per actor; all started and answered once after {:.0} ms",
            spawned.as_secs_f64() * 1e3,
            started.as_secs_f64() * 1e3,
        );
        Usage::now().report_since(before, ACTORS, "growth");

        let env = Arc::new(());
        let options = SpawnOptions::new().mailbox(mailbox);
        TRACING.store(true, Ordering::Relaxed);
        let traced = system.spawn_with("traced", Tally::default(), env, options);
        // Let a worker poll the new actor once, without allocating on this thread meanwhile.
        std::thread::sleep(Duration::from_millis(200));
        TRACING.store(false, Ordering::Relaxed);
        let count = TRACED_LEN.load(Ordering::Relaxed).min(TRACED.len());
        let listed: Vec<String> = TRACED[..count]
            .iter()
            .map(|(size, align)| {
                let (size, align) = (size.load(Ordering::Relaxed), align.load(Ordering::Relaxed));
                if align > 16 {
                    format!("{size} (align {align})")
                } else {
                    size.to_string()
                }
            })
            .collect();
        println!(
            "  one spawn allocates (B): {} (event {} B)",
            listed.join(", "),
            std::mem::size_of::<TallyEvent>(),
        );
        traced.expect("spawn");

        let start = Instant::now();
        system.shutdown().await;
        println!("  shutdown: {:.0} ms", start.elapsed().as_secs_f64() * 1e3);
    });
}

/// 10,000 actors, each given one full mailbox of events, taken as one batch: what an actor
/// keeps once that batch is done. A current-thread runtime, so each burst is queued before the
/// actor runs.
fn burst() {
    println!(
        "idle_actors: {BURST_ACTORS} actors, mailbox {BURST}, each after one batch of {BURST} events \
         (current-thread runtime)"
    );
    let ids: Vec<String> = (0..BURST_ACTORS).map(|i| format!("busy-{i:06}")).collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let system = ActorSystem::new();
        spawn_all(&system, &["first".into()], BURST as usize).await;
        let before = Usage::now();
        spawn_all(&system, &ids, BURST as usize).await;
        let idle = Usage::now();
        idle.report_since(before, BURST_ACTORS, "idle");
        for id in &ids {
            let actor: ActorRef<Tally> = system.get(id).expect("running");
            for i in 0..BURST {
                actor.try_send(nth_event(i)).expect("room in the mailbox");
            }
            assert_eq!(actor.version().await.expect("version"), BURST);
        }
        Usage::now().report_since(before, BURST_ACTORS, "after the batch");
        system.shutdown().await;
    });
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--idle") => idle(args[2].parse().expect("a mailbox capacity")),
        Some("--burst") => burst(),
        _ => {
            let exe = std::env::current_exe().expect("current exe");
            let runs: [&[&str]; 3] = [&["--idle", "1024"], &["--idle", "16"], &["--burst"]];
            for run in runs {
                let status = Command::new(&exe).args(run).status().expect("child run");
                assert!(status.success(), "{run:?} failed");
            }
        }
    }
}
