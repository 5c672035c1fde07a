//! Measuring one command: a small measuring child process (the bench binary re-executed in a
//! hidden mode) times it and reads its peak RSS; the growth of `.git/objects` is added. And the
//! medians of samples.

use crate::support::Env;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// One measured command.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub secs: f64,
    /// CPU time (user + system) of the command and the processes it waited for.
    pub cpu: f64,
    /// Peak RSS in KiB.
    pub rss_kb: u64,
    /// Growth of `.git/objects`, apparent size in bytes.
    pub objects: i64,
}

/// What a measured command printed.
pub struct Outcome {
    pub sample: Sample,
    pub stdout: String,
    pub stderr: String,
}

/// Apparent size of the files under `dir`.
fn apparent_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => apparent_size(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}

/// The hidden mode that measures one command: `BENCH --measure-child RESULT -- PROGRAM ARGS`.
pub const MEASURE_CHILD: &str = "--measure-child";

/// The measuring process: a fresh, small process (the bench binary re-executed) that runs the
/// command with its own stdio, environment and directory, waits, and writes `secs maxrss_kb
/// cpu_secs` to RESULT from `getrusage(RUSAGE_CHILDREN)`, which then covers exactly that
/// command and the processes it waited for. (Measured straight from the benchmark, a child's `ru_maxrss` would
/// include the benchmark's own memory, which the kernel counts for the child until it execs.)
pub fn measure_child(args: &[String]) -> ! {
    let [result, dashes, program, rest @ ..] = args else {
        eprintln!("usage: {MEASURE_CHILD} RESULT -- PROGRAM [ARGS...]");
        std::process::exit(2);
    };
    assert_eq!(dashes, "--", "{MEASURE_CHILD} RESULT -- PROGRAM");
    let start = Instant::now();
    let status = Command::new(program)
        .args(rest)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let secs = start.elapsed().as_secs_f64();
    // SAFETY: rusage is plain data that getrusage fills.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a local.
    let r = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(r, 0, "getrusage: {}", std::io::Error::last_os_error());
    let cpu = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let cpu = cpu(usage.ru_utime) + cpu(usage.ru_stime);
    std::fs::write(result, format!("{secs} {} {cpu}\n", usage.ru_maxrss)).expect("write result");
    std::process::exit(status.code().unwrap_or(128));
}

/// Runs `program args` in the repository `repo` (stdin from a file if given) through the
/// measuring process; fails loudly when the command fails.
pub fn measure(
    env: &Env,
    repo: &Path,
    program: &str,
    args: &[&str],
    stdin: Option<&Path>,
) -> Outcome {
    let objects = repo.join(".git/objects");
    let before = apparent_size(&objects);
    let scratch = tempfile::tempdir().expect("temp dir");
    let out_path = scratch.path().join("stdout");
    let err_path = scratch.path().join("stderr");
    let result_path = scratch.path().join("result");
    let me = std::env::current_exe().expect("the bench executable");
    let mut all = vec![
        MEASURE_CHILD,
        result_path.to_str().expect("utf-8 temp path"),
        "--",
        program,
    ];
    all.extend_from_slice(args);
    let mut cmd = env.command(repo, me.to_str().expect("utf-8 bench path"), &all);
    cmd.stdin(match stdin {
        Some(p) => Stdio::from(std::fs::File::open(p).expect("open stdin file")),
        None => Stdio::null(),
    })
    .stdout(std::fs::File::create(&out_path).expect("stdout file"))
    .stderr(std::fs::File::create(&err_path).expect("stderr file"));
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", me.display()));
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    if !status.success() {
        panic!(
            "`{program} {}` in {} failed ({status}):\n{stdout}{stderr}",
            args.join(" "),
            repo.display()
        );
    }
    let result = std::fs::read_to_string(&result_path).expect("measurement result");
    let mut fields = result.split_whitespace();
    let secs: f64 = fields.next().and_then(|v| v.parse().ok()).expect("secs");
    let rss_kb: u64 = fields.next().and_then(|v| v.parse().ok()).expect("maxrss");
    let cpu: f64 = fields.next().and_then(|v| v.parse().ok()).expect("cpu");
    let after = apparent_size(&objects);
    Outcome {
        sample: Sample {
            secs,
            cpu,
            rss_kb,
            objects: after as i64 - before as i64,
        },
        stdout,
        stderr,
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

pub fn median_sample(samples: &[Sample]) -> Sample {
    Sample {
        secs: median(samples.iter().map(|s| s.secs).collect()),
        cpu: median(samples.iter().map(|s| s.cpu).collect()),
        rss_kb: median(samples.iter().map(|s| s.rss_kb as f64).collect()) as u64,
        objects: median(samples.iter().map(|s| s.objects as f64).collect()) as i64,
    }
}

/// Removes git-mixxx's recorded no-change shortcut, so the next run does the full check.
pub fn forget_shortcut(repo: &Path) {
    if let Ok(dir) = std::fs::read_dir(repo.join(".git/mixxx")) {
        for entry in dir.flatten() {
            if entry.path().extension().is_some_and(|e| e == "quiet") {
                std::fs::remove_file(entry.path()).expect("remove the shortcut");
            }
        }
    }
}
