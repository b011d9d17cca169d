//! Collections (issue 24): a folder of photos indexed with a finished model, grown, shrunk and
//! synced in place, never writing into the model's run folder; a missing root deletes nothing;
//! a retrained model is detected and every image embedded again.
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::tiny_config;
use webly_pipeline::collection::{self, ChangeReport};
use webly_pipeline::{query, run, QueryInput, SearchMode, Searcher, Source};

/// Checksums of every file under `dir` but lock files, by path relative to it.
fn checksums(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().unwrap() != webly_io::LOCK_FILE {
                let sum = webly_io::checksum(&p).unwrap();
                out.insert(p.strip_prefix(dir).unwrap().to_path_buf(), sum);
            }
        }
    }
    out
}

/// Copies `n` of the dataset's images, from the `skip`-th on, into `dir` as `img-<i>.jpg`.
fn copy_images(images: &[PathBuf], skip: usize, n: usize, dir: &Path) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    images[skip..skip + n]
        .iter()
        .enumerate()
        .map(|(i, src)| {
            let to = dir.join(format!("img-{}.jpg", skip + i));
            std::fs::copy(src, &to).unwrap();
            to
        })
        .collect()
}

/// Every image file of the run's dataset.
fn dataset_images(cfg: &webly_pipeline::RunConfig) -> Vec<PathBuf> {
    let dataset = webly_data::Dataset::open(&cfg.data.dataset).unwrap();
    dataset.items.iter().map(|i| i.image.clone()).collect()
}

fn keys_found(dir: &Path, vector_of: &Path, k: usize) -> Vec<String> {
    let s = Searcher::open_collection(dir).unwrap();
    let v = s.embed_file(vector_of).unwrap();
    let mut keys: Vec<String> = s
        .similar_to_vector(&v, k, SearchMode::Hnsw)
        .into_iter()
        .map(|f| f.key)
        .collect();
    keys.extend(
        s.similar_to_vector(&v, k, SearchMode::Exact)
            .into_iter()
            .map(|f| f.key),
    );
    keys
}

fn change(r: &ChangeReport) -> (usize, usize, usize, usize) {
    let c = &r.manifest.last_change;
    (c.added, c.changed, c.removed, c.skipped)
}

#[test]
fn a_collection_grows_shrinks_and_syncs_without_touching_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tiny_config(tmp.path());
    run(&cfg).expect("the tiny run");
    let model = cfg.run_dir.join("models/tiny");
    let before = checksums(&cfg.run_dir);
    let images = dataset_images(&cfg);
    let photos = tmp.path().join("photos");
    copy_images(&images, 0, 30, &photos);
    let coll = tmp.path().join("my-collection");

    let made = collection::create(&coll, &model, std::slice::from_ref(&photos)).unwrap();
    assert_eq!(made.manifest.images, 30);
    assert_eq!(change(&made), (30, 0, 0, 0));
    let recall = made.manifest.recall.as_ref().expect("recall measured");
    assert!(recall.recall > 0.9, "{recall:?}");
    // A second create is refused, and so is one into a folder of other files (the photos).
    assert!(collection::create(&coll, &model, std::slice::from_ref(&photos)).is_err());
    let err = collection::create(&photos, &model, std::slice::from_ref(&photos)).unwrap_err();
    assert!(err.to_string().contains("not empty"), "{err}");
    assert!(
        !photos.join(webly_io::LOCK_FILE).exists(),
        "a lock file left in the photos"
    );
    // The collection is searched by words and by image.
    let words = QueryInput::Text("snow".into());
    let answer = query(Source::Collection(&coll), &words, 5, SearchMode::Hnsw, None).unwrap();
    assert_eq!(answer.hits.len(), 5);
    assert!(answer.hits.iter().all(|h| h.key.starts_with("photos/")));
    assert!(answer.hits.iter().all(|h| h.relevant.is_none()));

    // Add 10: only those are embedded.
    let new = copy_images(&images, 30, 10, &photos.join("new"));
    let added = collection::add(&coll, &[photos.join("new")]).unwrap();
    assert_eq!(change(&added), (10, 0, 0, 0));
    assert_eq!(added.manifest.images, 40);
    assert!(keys_found(&coll, &new[0], 40).contains(&"photos/new/img-30.jpg".to_string()));

    // Remove 3: never returned again, even for their own pictures, and not re-added by sync.
    let gone: Vec<PathBuf> = new[..3].to_vec();
    let removed = collection::remove(&coll, &gone).unwrap();
    assert_eq!(removed.manifest.images, 37);
    assert_eq!(removed.manifest.excluded, 3);
    for g in &gone {
        let key = format!("photos/new/{}", g.file_name().unwrap().to_string_lossy());
        let found = keys_found(&coll, g, 40);
        assert!(!found.contains(&key), "{key} returned after its removal");
        assert_eq!(found.len(), 2 * 37, "every live image still found");
    }
    let synced = collection::sync(&coll).unwrap();
    assert_eq!(change(&synced), (0, 0, 0, 0));
    assert_eq!(synced.manifest.images, 37);
    // Adding a removed file again brings it back.
    let back = collection::add(&coll, &gone[..1]).unwrap();
    assert_eq!((back.manifest.images, back.manifest.excluded), (38, 2));
    assert!(collection::remove(&coll, &[tmp.path().join("nowhere.jpg")]).is_err());

    // Files changed on disk: 2 deleted, 1 replaced by another picture, 1 new, 1 unreadable.
    std::fs::remove_file(photos.join("img-0.jpg")).unwrap();
    std::fs::remove_file(photos.join("img-1.jpg")).unwrap();
    std::fs::copy(&images[100], photos.join("img-2.jpg")).unwrap();
    std::fs::copy(&images[101], photos.join("fresh.jpg")).unwrap();
    std::fs::write(photos.join("broken.jpg"), b"not a jpeg at all").unwrap();
    let synced = collection::sync(&coll).unwrap();
    assert_eq!(change(&synced), (2, 1, 3, 1), "{synced}");
    assert_eq!(synced.manifest.images, 38 - 2 + 1);
    assert_eq!(synced.manifest.skipped, 1);
    assert!(
        synced.skipped[0].contains("broken.jpg"),
        "{:?}",
        synced.skipped
    );
    // The unreadable file is not tried again until it changes; `info` names it.
    assert_eq!(change(&collection::sync(&coll).unwrap()), (0, 0, 0, 0));
    let info = collection::info(&coll).unwrap();
    assert_eq!(info.unreadable.len(), 1);
    assert!(info.unreadable[0].reason.contains("broken.jpg"), "{info}");

    // While a writer holds the collection, readers still search it; a second writer is refused.
    let writer = webly_io::FolderLock::try_lock(&coll, webly_io::LockKind::Exclusive)
        .unwrap()
        .expect("the writer's lock");
    let hits = query(Source::Collection(&coll), &words, 3, SearchMode::Hnsw, None).unwrap();
    assert_eq!(hits.hits.len(), 3);
    let err = collection::sync(&coll).unwrap_err().to_string();
    assert!(err.contains("in use"), "{err}");
    drop(writer);

    // A root that is not there (an unmounted drive) is an error naming it, never a deletion.
    let away = tmp.path().join("photos-away");
    std::fs::rename(&photos, &away).unwrap();
    let err = collection::sync(&coll).unwrap_err().to_string();
    assert!(err.contains(&photos.display().to_string()), "{err}");
    assert_eq!(collection::info(&coll).unwrap().manifest.images, 37);
    std::fs::rename(&away, &photos).unwrap();
    // Nothing differed: nothing written, neither by sync nor by adding what is there already
    // (the root's first add below brings back the files removed above; the second finds nothing).
    let committed = |coll: &Path| {
        let generation = collection::info(coll).unwrap().manifest.generation;
        (
            generation,
            std::fs::read(coll.join("collection.json")).unwrap(),
        )
    };
    let no_op = |report: &ChangeReport, state: &(u64, Vec<u8>)| {
        assert_eq!(change(report), (0, 0, 0, 0));
        assert!(report.unchanged, "{report}");
        assert!(report.to_string().contains("nothing changed"), "{report}");
        assert_eq!(committed(&coll), *state, "nothing written");
    };
    let state = committed(&coll);
    no_op(&collection::sync(&coll).unwrap(), &state);
    let again = collection::add(&coll, std::slice::from_ref(&photos)).unwrap();
    assert!(!again.unchanged && again.manifest.generation == state.0 + 1);
    let state = committed(&coll);
    no_op(
        &collection::add(&coll, std::slice::from_ref(&photos)).unwrap(),
        &state,
    );

    // The model folder travels: a copy elsewhere indexes and searches as well.
    let moved = tmp.path().join("elsewhere/model");
    std::fs::create_dir_all(&moved).unwrap();
    for e in std::fs::read_dir(&model).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, moved.join(p.file_name().unwrap())).unwrap();
        }
    }
    let other = tmp.path().join("other-collection");
    let made = collection::create(&other, &moved, std::slice::from_ref(&photos)).unwrap();
    // Every readable file (the other collection's removals are its own).
    assert_eq!((made.manifest.images, made.manifest.skipped), (39, 1));
    let again = query(
        Source::Collection(&other),
        &words,
        5,
        SearchMode::Exact,
        None,
    )
    .unwrap();
    assert_eq!(again.hits.len(), 5);

    // Only the collection's own folders were written: the run is byte for byte as it was.
    assert_eq!(checksums(&cfg.run_dir), before);
    let gens: Vec<String> = std::fs::read_dir(&coll)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("gen-"))
        .collect();
    assert_eq!(gens.len(), 1, "old generations removed: {gens:?}");
}

#[test]
fn a_retrained_model_is_detected_and_every_image_embedded_again() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = tiny_config(tmp.path());
    run(&cfg).expect("the tiny run");
    let model = cfg.run_dir.join("models/tiny");
    let images = dataset_images(&cfg);
    let photos = tmp.path().join("photos");
    copy_images(&images, 0, 12, &photos);
    let coll = tmp.path().join("c");
    collection::create(&coll, &model, std::slice::from_ref(&photos)).unwrap();

    // Retrain the same model folder with another seed.
    cfg.models[0].train.seed = 2;
    run(&cfg).expect("retrained");
    let err = Searcher::open_collection(&coll)
        .err()
        .expect("stale collection");
    assert!(err.to_string().contains("collection sync"), "{err}");
    let synced = collection::sync(&coll).unwrap();
    assert!(synced.manifest.last_change.rebuilt);
    assert_eq!(synced.manifest.last_change.added, 12);
    assert!(Searcher::open_collection(&coll).is_ok());
}
