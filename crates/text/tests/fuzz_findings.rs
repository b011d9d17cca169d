//! Regression tests of webly-fuzz's findings in the word-vector readers (inputs under
//! `tests/fixtures/fuzz/`): a header's dimension or count is outside data and must not size an
//! allocation before the bytes are there. This test binary's allocator records the largest
//! single request, so a regression shows as a number, not only as an abort.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use webly_text::{CacheStatus, LoadOptions, WordVectors};

/// The system allocator, recording the largest request.
struct Recording;

static LARGEST: AtomicUsize = AtomicUsize::new(0);
/// The tests share `LARGEST`: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

// SAFETY: forwards every call to `System` unchanged; only reads the layout's size.
unsafe impl GlobalAlloc for Recording {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Recording = Recording;

/// Far over what a file of a few bytes needs (the read buffer is 1 MiB, a parse block 32 MiB at
/// most and never more than the bytes read), far under what the findings asked for (16 GiB and
/// more).
const MOST_BYTES_ONE_ALLOCATION: usize = 64 << 20;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz")
        .join(name)
}

/// Runs `f`, returning its value and the largest single allocation it made.
fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.store(0, Ordering::Relaxed);
    let value = f();
    (value, LARGEST.load(Ordering::Relaxed))
}

fn no_cache() -> LoadOptions {
    LoadOptions {
        cache: false,
        progress: false,
        ..LoadOptions::default()
    }
}

#[test]
fn a_word2vec_text_header_claiming_2_pow_32_values_is_refused_without_allocating_them() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let path = fixture("w2v_header_dim_2pow32.txt");
    let (result, largest) = largest_allocation(|| WordVectors::load(&path, &no_cache()));
    let e = result.unwrap_err().to_string();
    assert!(e.contains("w2v_header_dim_2pow32.txt:2"), "{e}");
    assert!(e.contains("4294967296 values"), "{e}");
    assert!(
        largest < MOST_BYTES_ONE_ALLOCATION,
        "{largest} bytes at once"
    );
}

#[test]
fn a_word2vec_binary_header_claiming_2_pow_61_values_is_a_truncated_record() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let path = fixture("w2v_binary_header_dim_2pow61.bin");
    let (result, largest) = largest_allocation(|| WordVectors::load(&path, &no_cache()));
    let e = result.unwrap_err().to_string();
    assert!(e.contains("w2v_binary_header_dim_2pow61.bin"), "{e}");
    assert!(e.contains("truncated vector"), "{e}");
    assert!(
        largest < MOST_BYTES_ONE_ALLOCATION,
        "{largest} bytes at once"
    );
}

#[test]
fn a_cache_claiming_4_billion_duplicate_examples_is_rebuilt_without_allocating_them() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("vectors.txt");
    std::fs::copy(fixture("cache_source.txt"), &source).unwrap();
    // The cache as the fuzzer left it, with this checkout's size and mtime of its source so
    // that it is decoded, not found stale; unverified, as `verify_cache = false` loads it.
    let mut cache = std::fs::read(fixture("cache_huge_example_count.webly-cache")).unwrap();
    let meta = std::fs::metadata(&source).unwrap();
    let mtime = meta
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    cache[16..24].copy_from_slice(&meta.len().to_le_bytes());
    cache[24..32].copy_from_slice(&mtime.to_le_bytes());
    let cache_path = webly_text::cache_path(&source, None);
    std::fs::write(&cache_path, &cache).unwrap();
    let opts = LoadOptions {
        progress: false,
        verify_cache: false,
        ..LoadOptions::default()
    };
    let (result, largest) = largest_allocation(|| WordVectors::load(&source, &opts));
    let (v, report) = result.unwrap();
    assert_eq!(v.len(), 4);
    assert!(
        matches!(&report.cache, CacheStatus::Rebuilt(_, why) if why.contains("corrupt")),
        "{:?}",
        report.cache
    );
    assert!(
        largest < MOST_BYTES_ONE_ALLOCATION,
        "{largest} bytes at once"
    );
}
