//! Exact and HNSW (hnsw_rs) search over L2-normalised embeddings, saved on disk with a manifest.
