//! CNN encoder
