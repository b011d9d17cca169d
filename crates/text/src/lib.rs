//! Frozen GloVe word space: caption cleaning, word-vector formats, GloVe training, caption and query embeddings.
