#![deny(missing_docs)]
//! webly's vector kernels, shared by the text space, the index and the evaluation (none of
//! which links tch): one dot product for the whole workspace, queries-against-rows scoring as
//! a matrix product (register-tiled for a few queries, `tile.rs`; the `gemm` crate otherwise)
//! and the exact scan built on it ([`scan_blocks`]), and, in [`cells`], the
//! placement of every score of a ranking among a few sorted ones (exact evaluation).

pub mod cells;
mod dot;
mod gemm;
mod scan;
mod tile;

pub use dot::{dot, isa, norm, Isa};
pub use gemm::{dot_block, dot_block_by_row, dot_block_by_row_gemm, BLOCK_ROWS};
pub use scan::{block_of, scan_blocks};

/// What a kernel was given that does not fit.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// Lengths that are not the shapes' products (all lengths in floats).
    #[error(
        "scoring queries against rows: {queries} query floats, {rows} row floats and an output \
         of {out} do not fit dimension {dim}"
    )]
    Shape {
        /// Floats given for the queries (`m x dim` expected).
        queries: usize,
        /// Floats given for the rows (`n x dim` expected).
        rows: usize,
        /// The vector dimension.
        dim: usize,
        /// Floats of the output (`m x n` expected).
        out: usize,
    },
    /// A size the matrix product's strides cannot hold.
    #[error("scoring queries against rows: size {0} exceeds isize")]
    TooLarge(usize),
}
