//! Counts in messages: "1 image", "2 images".

/// `n` and the noun, made plural by an added `s` unless `n` is 1: `1 image`, `0 images`.
pub(crate) fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_and_the_rest_plural() {
        assert_eq!(count(1, "unreadable image"), "1 unreadable image");
        assert_eq!(count(0, "image"), "0 images");
        assert_eq!(count(12, "image"), "12 images");
    }
}
