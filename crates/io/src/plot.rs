//! The font of every PNG plot (plotters draws no text without a registered font).

/// The family name plots ask plotters for; [`plot_font`] registers DejaVu Sans under it.
pub const PLOT_FONT: &str = "sans-serif";

/// Registers DejaVu Sans (the TrueType bytes shipped by the `dejavu` crate) with plotters as
/// [`PLOT_FONT`], once per process, and returns the family name to draw text with.
/// Registration cannot fail on these bytes; if it did, plots would only lose their text.
pub fn plot_font() -> &'static str {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font(
            PLOT_FONT,
            plotters::style::FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
    PLOT_FONT
}
