//! The seed corpora, written by webly's own writers where it has them (caches, indexes,
//! stamps, shards) and by the formats' reference libraries otherwise (tar, parquet, image
//! encoders), so each seed is a valid file the reader accepts. `webly-fuzz seeds` rewrites
//! `crates/fuzz/corpus/<target>/` from here.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use webly_index::{Embeddings, Fingerprints, Hnsw, HnswConfig};
use webly_pipeline::shards::{shard_stem, ShardManifest, EMBED_SHARD_KIND};
use webly_pipeline::{stamp, ShardSpec, Split};
use webly_text::{write_word2vec_binary_to, LoadOptions, WordVectors};

use crate::bundle::pack;
use crate::targets::{
    metadata_shard, write_cache_source, DIR_PLACEHOLDER, SIGNATURE_TABLE, STAMP_OUTPUTS,
};

/// One seed: target, file name, bytes.
pub type Seed = (&'static str, String, Vec<u8>);

type Error = Box<dyn std::error::Error>;

/// Every target's seeds.
pub fn all() -> Result<Vec<Seed>, Error> {
    let mut out = Vec::new();
    let mut add = |target: &'static str, name: &str, bytes: Vec<u8>| {
        out.push((target, name.to_string(), bytes))
    };
    let glove = "the 0.418 0.24968 -0.41242\n, 0.013441 0.23682 -0.16899\ncafé 1e-3 -2.5 3\n";
    add("vectors_text", "glove.txt", glove.as_bytes().to_vec());
    add(
        "vectors_text",
        "glove_bom_crlf.txt",
        format!("\u{feff}{}", glove.replace('\n', "\r\n")).into_bytes(),
    );
    add(
        "vectors_text",
        "word2vec.txt",
        format!("3 3\n{glove}").into_bytes(),
    );
    add("vectors_text", "glove.txt.gz", gzip(glove.as_bytes())?);
    add(
        "vectors_text",
        "latin1.txt",
        b"caf\xe9 0.1 0.2\nthe 0.3 0.4\n".to_vec(),
    );
    let words = ["the", "snow", "mountain", "\u{e9}t\u{e9}"].map(String::from);
    let data: Vec<f32> = (0..words.len() * 4)
        .map(|i| i as f32 * 0.25 - 1.0)
        .collect();
    let v = WordVectors::from_parts(words.to_vec(), data, 4)?;
    let mut binary = Vec::new();
    write_word2vec_binary_to(&v, &mut binary)?;
    add("word2vec_binary", "vectors.bin", binary.clone());
    add("word2vec_binary", "vectors.bin.gz", gzip(&binary)?);
    let dir = tempfile::tempdir()?;
    let source = write_cache_source(dir.path()).map_err(Error::from)?;
    let opts = LoadOptions {
        progress: false,
        ..LoadOptions::default()
    };
    WordVectors::load(&source, &opts)?;
    let cache = std::fs::read(webly_text::cache_path(&source, None))?;
    add("text_cache", "cache", cache);
    add(
        "captions",
        "plain.txt",
        b"Snow on the mountain #alps".to_vec(),
    );
    add(
        "captions",
        "lines.txt",
        "\u{feff}line one\r\nline two\n\u{1F600} caf\u{e9}".into(),
    );
    add("captions", "latin1.txt", b"caf\xe9 au lait".to_vec());
    add("captions", "long.txt", "word ".repeat(40).into_bytes());
    add("tar_shard", "shard.tar", shard()?);
    add("tar_shard", "metadata_only.tar", metadata_shard());
    add("parquet_meta", "meta.parquet", parquet()?);
    let json = [
        r#"{"url": "http://x/a.jpg", "key": "000000000", "caption": "a dog", "status": "success", "width": 256, "height": 192.0, "original_width": NaN, "exif": "{}"}"#,
        r#"{"key": "000000000", "status": "failed_to_download", "error_message": "404", "caption": null, "similarity": -Infinity}"#,
        r#"{"caption": "\"NaN\" \\ Infinity", "status": "success", "width": 1e3}"#,
    ];
    for (i, j) in json.iter().enumerate() {
        add(
            "img2dataset_json",
            &format!("sample{i}.json"),
            j.as_bytes().to_vec(),
        );
    }
    for (name, bytes) in images()? {
        add("image", name, bytes);
    }
    add("stamps", "stage.tar", stage()?);
    add("shard_merge", "shards.tar", shards()?);
    add("index", "index.tar", index()?);
    for (i, q) in [
        "q=snow+mountain&k=5&mode=exact",
        "key=london/123&k=3&mode=hnsw",
        "q=%F0%9F%98%80%20caf%C3%A9&k=",
        "q=a&q=b&k=100",
    ]
    .iter()
    .enumerate()
    {
        add("http_query", &format!("query{i}"), q.as_bytes().to_vec());
    }
    add(
        "http_multipart",
        "upload",
        multipart("image", b"\xFF\xD8\xFF\xD9"),
    );
    add("http_multipart", "other_field", multipart("file", b"abc"));
    Ok(out)
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>, Error> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes)?;
    Ok(gz.finish()?)
}

/// A small JPEG (with an EXIF orientation), PNG and WebP.
fn images() -> Result<Vec<(&'static str, Vec<u8>)>, Error> {
    let img = image::RgbImage::from_fn(8, 6, |x, y| image::Rgb([x as u8 * 30, y as u8 * 40, 90]));
    let encode = |format| -> Result<Vec<u8>, Error> {
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, format)?;
        Ok(out.into_inner())
    };
    let jpeg = encode(image::ImageFormat::Jpeg)?;
    // APP1 EXIF with orientation 6 (rotate 90), right after SOI.
    let exif: &[u8] = b"\xFF\xE1\x00\x22Exif\x00\x00MM\x00\x2A\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00\x00\x00\x00\x00";
    let mut rotated = jpeg[..2].to_vec();
    rotated.extend_from_slice(exif);
    rotated.extend_from_slice(&jpeg[2..]);
    Ok(vec![
        ("small.jpg", jpeg),
        ("exif.jpg", rotated),
        ("small.png", encode(image::ImageFormat::Png)?),
        ("small.webp", encode(image::ImageFormat::WebP)?),
    ])
}

/// A webdataset shard as img2dataset writes it: per sample `.jpg`, `.txt`, `.json`.
fn shard() -> Result<Vec<u8>, Error> {
    let jpeg = images()?.remove(0).1;
    Ok(pack(&[
        ("000000000.jpg".into(), jpeg.clone()),
        ("000000000.txt".into(), b"a red house".to_vec()),
        (
            "000000000.json".into(),
            br#"{"key": "000000000", "status": "success", "caption": "a red house"}"#.to_vec(),
        ),
        ("000000001.jpg".into(), jpeg),
        ("000000001.json".into(), br#"{"caption": "snow"}"#.to_vec()),
        ("sub/000000002.txt".into(), b"no image".to_vec()),
    ]))
}

/// img2dataset's parquet metadata of [`metadata_shard`]'s samples.
fn parquet() -> Result<Vec<u8>, Error> {
    use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    let schema = Arc::new(parquet::schema::parser::parse_message_type(
        "message schema { required binary key (STRING); optional binary caption (STRING);
         required binary status (STRING); optional int64 width; }",
    )?);
    let props = Arc::new(WriterProperties::builder().build());
    let mut w = SerializedFileWriter::new(Vec::new(), schema, props)?;
    let mut rg = w.next_row_group()?;
    let bytes = |s: &str| ByteArray::from(s.as_bytes().to_vec());
    let strings = [
        (
            vec![bytes("000000000"), bytes("000000001"), bytes("000000002")],
            None,
        ),
        (vec![bytes("a cat"), bytes("snow")], Some(vec![1i16, 0, 1])),
        (
            vec![
                bytes("success"),
                bytes("success"),
                bytes("failed_to_download"),
            ],
            None,
        ),
    ];
    for (values, levels) in strings {
        if let Some(mut col) = rg.next_column()? {
            col.typed::<ByteArrayType>()
                .write_batch(&values, levels.as_deref(), None)?;
            col.close()?;
        }
    }
    if let Some(mut col) = rg.next_column()? {
        col.typed::<Int64Type>()
            .write_batch(&[256, 192], Some(&[1, 1, 0]), None)?;
        col.close()?;
    }
    rg.close()?;
    Ok(w.into_inner()?)
}

/// The files of `dir` as a bundle, in name order, with `dir` itself written as
/// [`DIR_PLACEHOLDER`] in text files.
fn bundle_of(dir: &Path) -> Result<Vec<u8>, Error> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    names.sort();
    let mut files = Vec::new();
    for name in names {
        let data = std::fs::read(dir.join(&name))?;
        let data = match String::from_utf8(data) {
            Ok(text) => text
                .replace(&dir.display().to_string(), DIR_PLACEHOLDER)
                .into_bytes(),
            Err(e) => e.into_bytes(),
        };
        files.push((name, data));
    }
    Ok(pack(&files))
}

/// A finished stage: two outputs, their stamp, and the signature table of the outputs.
fn stage() -> Result<Vec<u8>, Error> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join(STAMP_OUTPUTS[0]), b"output one")?;
    std::fs::write(dir.path().join(STAMP_OUTPUTS[1]), [0u8, 1, 2, 3])?;
    stamp::write(dir.path(), "0123456789abcdef", &STAMP_OUTPUTS)?;
    let files: Vec<_> = STAMP_OUTPUTS.iter().map(|n| dir.path().join(n)).collect();
    stamp::content_signature(&files, &dir.path().join(SIGNATURE_TABLE))?;
    bundle_of(dir.path())
}

/// Two image-embedding shards of the test split (3 rows of dim 4 in all, one key skipped).
fn shards() -> Result<Vec<u8>, Error> {
    let dir = tempfile::tempdir()?;
    let rows = [vec!["london/1", "paris/2"], vec!["rome/3"]];
    for (i, keys) in rows.iter().enumerate() {
        let spec = ShardSpec {
            index: i,
            count: rows.len(),
        };
        let stem = shard_stem(Split::Test, spec);
        let data: Vec<f32> = (0..keys.len() * 4).map(|x| x as f32 * 0.5).collect();
        webly_io::write_matrix(
            &dir.path().join(format!("{stem}.npy")),
            keys.len(),
            4,
            &data,
        )?;
        let ids: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        webly_io::write_ids(&dir.path().join(format!("{stem}.ids")), &ids)?;
        let manifest = ShardManifest {
            kind: EMBED_SHARD_KIND.to_string(),
            split: Split::Test,
            shard: spec,
            model: "resnet".into(),
            model_fingerprint: "m0".into(),
            text_fingerprint: "t0".into(),
            dim: 4,
            rows: keys.len(),
            skipped: if i == 0 {
                vec!["oslo/9".into()]
            } else {
                vec![]
            },
        };
        std::fs::write(
            dir.path().join(format!("{stem}.json")),
            serde_json::to_vec_pretty(&manifest)?,
        )?;
    }
    bundle_of(dir.path())
}

/// A saved HNSW index of 24 vectors of dimension 6 (two of them equal: one node, two rows).
fn index() -> Result<Vec<u8>, Error> {
    let (n, dim) = (24, 6);
    let mut data: Vec<f32> = (0..n * dim)
        .map(|i| ((i * 7919) % 97) as f32 / 97.0 - 0.5)
        .collect();
    data.copy_within(0..dim, dim);
    let keys = (0..n).map(|i| format!("city/{i}")).collect();
    let emb = Embeddings::new(data, dim, keys)?;
    let mut h = Hnsw::build(&emb, &HnswConfig::default())?;
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("index");
    let fingerprints = Fingerprints {
        model: "m0".into(),
        text: "t0".into(),
    };
    h.save(&out, &fingerprints)?;
    bundle_of(&out)
}

/// A multipart/form-data upload with one field: the header line, then the body.
fn multipart(field: &str, data: &[u8]) -> Vec<u8> {
    let mut out = b"multipart/form-data; boundary=B\n".to_vec();
    out.extend_from_slice(
        format!(
            "--B\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"a.jpg\"\r\n\
             Content-Type: image/jpeg\r\n\r\n"
        )
        .as_bytes(),
    );
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n--B--\r\n");
    out
}

/// Writes every seed under `corpus/<target>/`.
pub fn write_all(corpus: &Path) -> Result<usize, Error> {
    let seeds = all()?;
    for (target, name, bytes) in &seeds {
        let dir = corpus.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(name), bytes)?;
    }
    Ok(seeds.len())
}
