//! Benchmark of `git-mixxx sync` on synthetic libraries of N tracks (real git, git-annex and the
//! real Mixxx schema), with peak memory and git object growth, and a comparison with writing the
//! same metadata through `git annex metadata --batch --json`.
//!
//! ```sh
//! cargo bench --bench sync -- --tracks 1000,10000,100000 --runs 3
//! cargo bench --bench sync -- --tracks 1000 --runs 1 --keep /tmp/gm-bench --batch-compare 0
//! ```
//!
//! `cargo bench` builds `target/release/git-mixxx` with the bench (benchmarks always get the
//! package's binaries); the benchmark copies it into its run directory first, so a concurrent
//! rebuild does not change the binary under measurement. When it is missing, the benchmark runs
//! `cargo build --release --bin git-mixxx`.
//!
//! Per N, the library is generated once: an annex repository whose work branch (built with
//! `git fast-import`) holds N locked annexed files without content, and a Mixxx database of N
//! tracks with `git_mixxx::demo::sample_values`, written by git-mixxx's own
//! `git_mixxx::demo::create_library`. Each run then works on a fresh `cp -a` copy.
//! Every command runs under a small measuring process (the bench binary re-executed with a
//! hidden `--measure-child` mode) that times it by wall clock and reads its peak RSS from
//! `getrusage(RUSAGE_CHILDREN)` (the largest RSS of the command and of the processes it waited
//! for); the objects column is the growth of the apparent size of `.git/objects`. Cells show
//! medians over the runs.
//!
//! The modules: [`generate`] (the synthetic repository and database), [`measure`] (the
//! measuring child process and samples), [`scenarios`] (the sync scenarios), [`playlist`] (a
//! playlist reordered on two clones, merged), [`checks`] (that
//! each step did what it should), [`batch`] and [`compare`] (the `git annex metadata --batch`
//! comparison); this file has the arguments, `main` and the table. The hermetic command
//! environment and the Mixxx database helpers are shared with the integration tests
//! (`tests/support`).

mod batch;
mod checks;
mod clones;
mod compare;
mod generate;
mod measure;
mod playlist;
mod scenarios;
#[allow(dead_code)] // shared with the integration tests, which use other parts of it
#[path = "../../tests/support/mod.rs"]
mod support;

use compare::{Comparison, compare};
use generate::generate;
use measure::{MEASURE_CHILD, Sample, measure_child, median_sample};
use scenarios::{Figure, REPEATS, Samples, Scenario, run_scenarios};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::Env;

const USAGE: &str = "usage: cargo bench --bench sync -- [--tracks N,N,...] [--runs R] [--keep DIR] [--batch-compare N] [--cues C] [--grid]

  --tracks N,...       library sizes (default 1000,10000)
  --cues C             hot cues per track in the generated library (default 0)
  --grid               a beat grid (BeatGrid-2.0 at the track's BPM) on every track with a BPM
  --plays              a play count on every track and 200 history sessions of 30 tracks
  --runs R             runs per measurement, medians are reported (default 3)
  --keep DIR           generate in DIR and keep the repositories, using again those generated
                       there with the same --tracks, --cues and --grid (default: a temporary directory)
  --batch-compare N    tracks for the `git annex metadata --batch` comparison (default 10000; 0: off)";

struct Args {
    tracks: Vec<usize>,
    runs: usize,
    keep: Option<PathBuf>,
    batch_compare: usize,
    cues: usize,
    grid: bool,
    plays: bool,
}

fn parse_args() -> Args {
    let mut args = Args {
        tracks: vec![1000, 10_000],
        runs: 3,
        keep: None,
        batch_compare: 10_000,
        cues: 0,
        grid: false,
        plays: false,
    };
    let fail = |msg: String| -> ! {
        eprintln!("sync bench: {msg}\n{USAGE}");
        std::process::exit(2);
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next())
                .unwrap_or_else(|| fail(format!("{name} needs a value")))
        };
        let number = |v: String| -> usize {
            v.replace('_', "")
                .parse()
                .unwrap_or_else(|_| fail(format!("{name}: `{v}` is not a number")))
        };
        match name.as_str() {
            // `cargo bench` passes --bench to harness = false targets.
            "--bench" => {}
            "--tracks" => {
                args.tracks = value().split(',').map(|v| number(v.to_owned())).collect();
                if args.tracks.contains(&0) {
                    fail("--tracks: sizes must be positive".into());
                }
            }
            "--runs" => args.runs = number(value()).max(1),
            "--keep" => args.keep = Some(PathBuf::from(value())),
            "--batch-compare" => args.batch_compare = number(value()),
            "--cues" => args.cues = number(value()),
            "--grid" => args.grid = true,
            "--plays" => args.plays = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => fail(format!("unknown argument `{other}`")),
        }
    }
    args
}

fn time(secs: f64) -> String {
    if secs < 1.0 {
        format!("{:.0} ms", secs * 1000.0)
    } else {
        format!("{secs:.2} s")
    }
}

fn mb(bytes: f64) -> String {
    let m = bytes / (1024.0 * 1024.0);
    if bytes == 0.0 {
        "0".to_owned()
    } else if m.abs() < 0.01 {
        format!("{}0.01", if m < 0.0 { ">-" } else { "<" })
    } else if m.abs() < 1.0 {
        format!("{m:.2}")
    } else if m.abs() < 10.0 {
        format!("{m:.1}")
    } else {
        format!("{m:.0}")
    }
}

fn cell(s: &Sample) -> String {
    format!(
        "{} / {} / {} / {}",
        time(s.secs),
        time(s.cpu),
        mb(s.rss_kb as f64 * 1024.0),
        mb(s.objects as f64)
    )
}

/// A scenario's medians: its cell, and the `sqlite3` reference beside it (its wall time, and
/// the figure's wall time as a multiple of it).
fn cells(s: Scenario, figures: &[Figure]) -> [String; 2] {
    let m = median_sample(&figures.iter().map(|f| f.sample).collect::<Vec<_>>());
    let references: Vec<Sample> = figures.iter().filter_map(|f| f.sqlite).collect();
    if s == Scenario::Generate || references.is_empty() {
        return [time(m.secs), String::new()];
    }
    let r = median_sample(&references);
    let ratio = m.secs / r.secs;
    let ratio = match ratio < 0.1 {
        true => format!("{ratio:.3}x"),
        false => format!("{ratio:.1}x"),
    };
    [
        cell(&m),
        format!("{} / {} / {ratio}", time(r.secs), time(r.cpu)),
    ]
}

fn machine(env: &Env) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':').map(|x| x.1))
        .unwrap_or("?")
        .trim()
        .to_owned();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gb = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or("?".to_owned(), |kb| {
            format!("{:.1} GiB", kb / 1024.0 / 1024.0)
        });
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let tmp = std::env::temp_dir();
    let annex = env.run(&tmp, "git", &["annex", "version", "--raw"]);
    let git = env.run(&tmp, "git", &["--version"]);
    format!(
        "machine: {cores} cores (nproc), {model}, {mem_gb} RAM; git-annex {}; {}",
        annex.trim(),
        git.trim()
    )
}

fn print_table(headers: &[String], rows: &[(String, Vec<String>)]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for (_, cells) in rows {
        for (i, c) in cells.iter().enumerate() {
            widths[i + 1] = widths[i + 1].max(c.chars().count());
        }
    }
    for (label, _) in rows {
        widths[0] = widths[0].max(label.chars().count());
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let pad = widths[i].saturating_sub(c.chars().count());
                if i == 0 {
                    format!("{c}{}", " ".repeat(pad))
                } else {
                    format!("{}{c}", " ".repeat(pad))
                }
            })
            .collect();
        println!("| {} |", padded.join(" | "));
    };
    line(headers.iter().map(String::as_str).collect());
    println!(
        "|{}|",
        widths
            .iter()
            .enumerate()
            .map(|(i, w)| if i == 0 {
                format!(":{}", "-".repeat(w + 1))
            } else {
                format!("{}:", "-".repeat(w + 1))
            })
            .collect::<Vec<_>>()
            .join("|")
    );
    for (label, cells) in rows {
        let mut all = vec![label.as_str()];
        all.extend(cells.iter().map(String::as_str));
        line(all);
    }
}

/// The git-mixxx binary to measure: the one `cargo bench` built (building it when missing),
/// copied so that a concurrent rebuild cannot swap it mid-run.
fn binary(root: &Path) -> PathBuf {
    let built = PathBuf::from(env!("CARGO_BIN_EXE_git-mixxx"));
    if !built.exists() {
        eprintln!("building {} (cargo build --release)", built.display());
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "--release", "--bin", "git-mixxx"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo build");
        assert!(status.success(), "cargo build --release failed");
    }
    let bin_dir = root.join("bin");
    std::fs::create_dir_all(&bin_dir).expect("bin dir");
    let copy = bin_dir.join("git-mixxx");
    std::fs::copy(&built, &copy).expect("copy git-mixxx");
    copy
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some(MEASURE_CHILD) {
        measure_child(&argv[2..]);
    }
    let args = parse_args();
    let (_tmp, root) = match &args.keep {
        Some(dir) => {
            std::fs::create_dir_all(dir).expect("create --keep DIR");
            (
                None,
                std::fs::canonicalize(dir).expect("canonical --keep DIR"),
            )
        }
        None => {
            let tmp = tempfile::Builder::new()
                .prefix("git-mixxx-bench-")
                .tempdir()
                .expect("temp dir");
            let root = std::fs::canonicalize(tmp.path()).expect("canonical temp dir");
            (Some(tmp), root)
        }
    };
    let bin = binary(&root);
    let env = Env::at(&root, bin.parent().expect("bin dir"))
        .with_identity("Bench DJ", "bench@example.invalid");
    let machine = machine(&env);
    eprintln!("sync bench in {}", root.display());

    let mut columns: Vec<(usize, Samples)> = Vec::new();
    let mut comparisons: Vec<(usize, Comparison)> = Vec::new();
    for &n in &args.tracks {
        eprintln!("N={n}: generating");
        let lib = generate(&env, &root, n, (args.cues, args.grid, args.plays));
        eprintln!("N={n}: generated in {}", time(lib.secs));
        let mut samples = Samples::new();
        samples.insert(
            Scenario::Generate,
            vec![Figure {
                sample: Sample {
                    secs: lib.secs,
                    cpu: 0.0,
                    rss_kb: 0,
                    objects: 0,
                },
                sqlite: None,
            }],
        );
        for run in 0..args.runs {
            eprintln!("  N={n} run {}", run + 1);
            run_scenarios(&env, &lib, run, &mut samples);
        }
        if args.batch_compare > 0 {
            let m = n.min(args.batch_compare);
            let firsts: Vec<Sample> = samples[&Scenario::FirstSync]
                .iter()
                .map(|f| f.sample)
                .collect();
            comparisons.push((n, compare(&env, &lib, m, args.runs, &firsts)));
        }
        debug_assert_eq!(lib.keys.len(), n);
        columns.push((n, samples));
    }

    println!(
        "\ngit-mixxx sync benchmark: median of {} run(s){}; cells: wall time / CPU time (user + system) / peak RSS MB / .git/objects growth MB; beside them, reading the same library and cue rows with the sqlite3 program right after (wall and CPU time) and the figure's wall time as a multiple of the sqlite3 wall time",
        args.runs,
        match (args.cues, args.grid) {
            (0, false) => String::new(),
            (0, true) => ", a beat grid per track".to_owned(),
            (c, false) => format!(", {c} hot cues per track"),
            (c, true) => format!(", {c} hot cues and a beat grid per track"),
        } + match args.plays {
            true => ", a play count per track and 200 history sessions of 30 tracks",
            false => "",
        }
    );
    println!(
        "(no-change rows: {REPEATS} consecutive runs per run; the hook after one warm-up run)\n"
    );
    let mut headers = vec!["scenario".to_owned()];
    headers.extend(
        columns
            .iter()
            .flat_map(|(n, _)| [format!("N={n}"), "sqlite3 wall / CPU / ratio".to_owned()]),
    );
    let rows: Vec<(String, Vec<String>)> = Scenario::ALL
        .iter()
        .map(|s| {
            let cells = columns
                .iter()
                .flat_map(|(_, samples)| cells(*s, &samples[s]))
                .collect();
            (s.label().to_owned(), cells)
        })
        .collect();
    print_table(&headers, &rows);
    if !comparisons.is_empty() {
        println!();
    }
    for (n, c) in &comparisons {
        let merge_secs = c.merge.map_or(0.0, |s| s.secs);
        let batch_total = c.batch.secs + merge_secs;
        let merge = c.merge.map_or(String::new(), |s| {
            format!(" + git annex merge {}", cell(&s))
        });
        println!(
            "N={n}, {} tracks: git annex metadata --batch --json {}{merge} vs git-mixxx first sync {}: ratio {:.1}x (batch time / git-mixxx time)",
            c.m,
            cell(&c.batch),
            cell(&c.mixxx),
            batch_total / c.mixxx.secs
        );
    }
    println!("\n{machine}");
    if args.keep.is_some() {
        println!("repositories kept in {}", root.display());
    }
}
