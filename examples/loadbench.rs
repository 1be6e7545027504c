//! Load throughput and peak memory of the loader, without the browser or a query:
//! `cargo run --release --example loadbench -- FILE... [--careful] [--runs N]`.
//! Prints, per run, the seconds, MB/s and incidents; then the peak resident memory (VmHWM) as a
//! multiple of the input size.

use std::path::PathBuf;
use std::time::Instant;

use incidents::load::{self, LoadOptions, NativeReading};

// The binary's allocator, so that the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut paths = Vec::new();
    let mut careful = false;
    let mut runs = 1;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--careful" => careful = true,
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).unwrap_or(1),
            _ => paths.push(PathBuf::from(arg)),
        }
    }
    let bytes: u64 = paths.iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
    let opts = LoadOptions {
        native: NativeReading { careful_only: careful, ..NativeReading::default() },
        ..LoadOptions::default()
    };
    for _ in 0..runs {
        let start = Instant::now();
        match load::load(&paths, &opts) {
            Ok(dataset) => {
                let secs = start.elapsed().as_secs_f64();
                println!("{secs:.3} s  {:.0} MB/s  {} incidents", bytes as f64 / 1e6 / secs, dataset.incidents.len());
                // Freeing a million records is not part of loading them.
                std::mem::forget(dataset);
            }
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(kb) = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    {
        println!("peak RSS {} MB = {:.2} x input", kb / 1024, kb as f64 * 1024.0 / bytes as f64);
    }
}
