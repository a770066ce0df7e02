//! A table written as its rows arrive, with columns sized by their content.
//!
//! Key design decision: the writer holds at most [`SAMPLE_ROWS`] rows. The layout is decided
//! from the header and those first rows; every later row is written at once, a value longer than
//! its column wrapping onto more lines inside the column. So memory does not grow with the
//! number of rows (`cimhunt events -f table` over a gigabyte of logs), at the price that a long
//! value first met late wraps instead of widening its column.
//!
//! Fitting a width (a terminal's) favours the short fields: columns are given their natural
//! width narrowest first, as long as every column still to come can have at least
//! [`MIN_WRAPPED`] columns; the rest (command lines, paths) share what is left and wrap. A short
//! field such as `dest` or `process_id` is never squeezed to make room for a long one. When even
//! that cannot fit — eleven result columns on an 80-column terminal — each row is written as a
//! record instead, one `field  value` line per column (the layout of `psql`'s expanded display),
//! which reads well at any width.

use std::borrow::Cow;
use std::io::{self, Write};

use unicode_width::UnicodeWidthChar;

/// How many rows a table keeps to size its columns before it starts writing.
pub const SAMPLE_ROWS: usize = 256;

/// The narrowest a wrapping column is made when the table must fit a width; below this the
/// table is written as records.
pub const MIN_WRAPPED: usize = 12;

/// Table settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct TableStyle {
    /// Whether to use ANSI styling (a bold header).
    pub color: bool,
    /// Width to fit the table into, when known (a terminal's width); `None`: never wrap.
    pub width: Option<u16>,
}

/// How rows are laid out, decided from the sample.
#[derive(Debug, Clone)]
enum Layout {
    /// Columns of these widths.
    Columns(Vec<usize>),
    /// One block per row: names padded to `name_width`, values wrapped at `value_width`.
    Records {
        name_width: usize,
        value_width: usize,
        width: usize,
    },
}

/// Writes one table, row by row; call [`TableWriter::finish`] at the end.
#[derive(Debug)]
pub struct TableWriter {
    header: Vec<String>,
    style: TableStyle,
    /// Rows kept until the layout is decided.
    pending: Vec<Vec<String>>,
    /// The decided layout; `None` while sampling.
    layout: Option<Layout>,
    rows: u64,
}

impl TableWriter {
    /// A table with these column names.
    pub fn new(header: Vec<String>, style: TableStyle) -> Self {
        TableWriter {
            header,
            style,
            pending: Vec::new(),
            layout: None,
            rows: 0,
        }
    }

    /// Adds a row (one cell per column; missing cells are empty, extra cells ignored).
    pub fn row(&mut self, out: &mut dyn Write, mut cells: Vec<String>) -> io::Result<()> {
        cells.resize(self.header.len(), String::new());
        self.rows += 1;
        if self.layout.is_some() {
            return self.write(out, self.rows, &cells);
        }
        self.pending.push(cells);
        if self.pending.len() >= SAMPLE_ROWS {
            self.start(out)?;
        }
        Ok(())
    }

    /// How many rows were added.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    fn write(&self, out: &mut dyn Write, number: u64, cells: &[String]) -> io::Result<()> {
        match &self.layout {
            Some(Layout::Columns(widths)) => write_row(out, widths, cells, '┆'),
            Some(Layout::Records {
                name_width,
                value_width,
                width,
            }) => {
                let title = format!("── {number} ");
                let fill = width.saturating_sub(text_width(&title)).max(3);
                writeln!(out, "{title}{}", "─".repeat(fill))?;
                for (name, value) in self.header.iter().zip(cells) {
                    for (i, line) in wrap(value, *value_width).iter().enumerate() {
                        let label = if i == 0 { name.as_str() } else { "" };
                        let pad = name_width.saturating_sub(text_width(label));
                        writeln!(out, "{label}{}  {line}", " ".repeat(pad))?;
                    }
                }
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Decides the layout from the header and the pending rows, writes them.
    fn start(&mut self, out: &mut dyn Write) -> io::Result<()> {
        let natural: Vec<usize> = (0..self.header.len())
            .map(|c| {
                std::iter::once(&self.header[c])
                    .chain(self.pending.iter().map(|r| &r[c]))
                    .map(|s| text_width(s))
                    .max()
                    .unwrap_or(0)
                    .max(1)
            })
            .collect();
        let width = self.style.width.map(usize::from);
        let layout = match (fit(&natural, width), width) {
            (Some(widths), _) => Layout::Columns(widths),
            (None, Some(width)) => {
                let name_width = self.header.iter().map(|h| text_width(h)).max().unwrap_or(0);
                Layout::Records {
                    name_width,
                    value_width: width.saturating_sub(name_width + 2).max(MIN_WRAPPED),
                    width,
                }
            }
            (None, None) => Layout::Columns(natural),
        };
        if let Layout::Columns(widths) = &layout {
            write_rule(out, widths, ('┌', '─', '┬', '┐'))?;
            if self.style.color {
                write!(out, "\x1b[1m")?;
            }
            write_row(out, widths, &self.header, '┆')?;
            if self.style.color {
                write!(out, "\x1b[0m")?;
            }
            write_rule(out, widths, ('╞', '═', '╪', '╡'))?;
        }
        self.layout = Some(layout);
        for (i, row) in std::mem::take(&mut self.pending).iter().enumerate() {
            self.write(out, i as u64 + 1, row)?;
        }
        Ok(())
    }

    /// Writes what is pending and the bottom border.
    pub fn finish(mut self, out: &mut dyn Write) -> io::Result<()> {
        if self.layout.is_none() {
            self.start(out)?;
        }
        if let Some(Layout::Columns(widths)) = &self.layout {
            write_rule(out, widths, ('└', '─', '┴', '┘'))?;
        }
        Ok(())
    }
}

/// Column widths for natural widths `natural` fitted into `width` (each column costs 3 more
/// columns for its borders and padding), or `None` when they cannot fit with every wrapped
/// column at least [`MIN_WRAPPED`] wide. Narrowest first, each column keeps its natural width
/// while every later one can still have `MIN_WRAPPED`; the others share what is left equally.
pub fn fit(natural: &[usize], width: Option<usize>) -> Option<Vec<usize>> {
    let Some(width) = width else {
        return Some(natural.to_vec());
    };
    let n = natural.len();
    let overhead = 3 * n + 1;
    if natural.iter().sum::<usize>() + overhead <= width || n == 0 {
        return Some(natural.to_vec());
    }
    let mut remaining = width.checked_sub(overhead)?;
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&c| natural[c]);
    let mut widths = vec![0; n];
    for (i, &c) in order.iter().enumerate() {
        let later = n - i - 1;
        if natural[c] + later * MIN_WRAPPED <= remaining {
            widths[c] = natural[c];
            remaining -= natural[c];
            continue;
        }
        // This column and every wider one share what is left.
        let share = remaining / (n - i);
        for &c in &order[i..] {
            if natural[c] > share && share < MIN_WRAPPED {
                return None;
            }
            widths[c] = share.min(natural[c]);
        }
        return Some(widths);
    }
    Some(widths)
}

/// `┌───┬───┐` and the like.
fn write_rule(
    out: &mut dyn Write,
    widths: &[usize],
    (left, fill, join, right): (char, char, char, char),
) -> io::Result<()> {
    let mut line = String::new();
    line.push(left);
    for (i, w) in widths.iter().enumerate() {
        if i > 0 {
            line.push(join);
        }
        line.extend(std::iter::repeat_n(fill, w + 2));
    }
    line.push(right);
    writeln!(out, "{line}")
}

/// One row: each cell wrapped to its column, as many lines as the tallest cell needs. The row's
/// lines are built in one buffer, written whenever it holds [`ROW_BUFFER`] bytes: a row of a
/// script block can be hundreds of lines of a wide table, and a library run writes thousands
/// of rows.
fn write_row(out: &mut dyn Write, widths: &[usize], cells: &[String], sep: char) -> io::Result<()> {
    let wrapped: Vec<Vec<Line<'_>>> = cells
        .iter()
        .zip(widths)
        .map(|(cell, &w)| wrap_lines(cell, w))
        .collect();
    let height = wrapped.iter().map(Vec::len).max().unwrap_or(1).max(1);
    let row_width: usize = widths.iter().map(|w| w + 3).sum::<usize>() + 8;
    let mut buf = String::with_capacity((height * row_width).min(ROW_BUFFER + row_width));
    for line_no in 0..height {
        if buf.len() >= ROW_BUFFER {
            out.write_all(buf.as_bytes())?;
            buf.clear();
        }
        buf.push('│');
        for (i, (lines, &w)) in wrapped.iter().zip(widths).enumerate() {
            if i > 0 {
                buf.push(sep);
            }
            let (text, width) = lines
                .get(line_no)
                .map_or(("", 0), |l| (l.text.as_ref(), l.width));
            buf.push(' ');
            buf.push_str(text);
            push_spaces(&mut buf, w.saturating_sub(width) + 1);
        }
        buf.push_str("│\n");
    }
    out.write_all(buf.as_bytes())
}

/// The bytes of a row's lines held before they are written: a cell of a hundred thousand short
/// lines (a script block) in a wide table is not held whole.
const ROW_BUFFER: usize = 64 << 10;

fn push_spaces(buf: &mut String, mut n: usize) {
    const SPACES: &str = "                                                                ";
    while n > 0 {
        let k = n.min(SPACES.len());
        buf.push_str(&SPACES[..k]);
        n -= k;
    }
}

/// The display width of a text's widest line (control characters count as one column: they
/// are shown escaped).
pub fn text_width(text: &str) -> usize {
    text.split('\n').map(line_width).max().unwrap_or(0)
}

fn line_width(line: &str) -> usize {
    if is_plain(line) {
        return line.len();
    }
    line.chars().map(char_width).sum()
}

fn char_width(c: char) -> usize {
    if c.is_control() {
        1
    } else {
        c.width().unwrap_or(0)
    }
}

/// Printable ASCII only: one column a byte, nothing to escape, and the only whitespace a space.
fn is_plain(text: &str) -> bool {
    text.bytes().all(|b| (b' '..=b'~').contains(&b))
}

/// One line of a wrapped cell and its display width.
#[derive(Debug, PartialEq)]
struct Line<'a> {
    text: Cow<'a, str>,
    width: usize,
}

/// A cell's text as lines of at most `width` columns: its own lines, each broken after the last
/// space that fits, or anywhere when no space does. Control characters are shown as `�` so they
/// cannot move the terminal's cursor.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    wrap_lines(text, width)
        .into_iter()
        .map(|l| l.text.into_owned())
        .collect()
}

fn wrap_lines(text: &str, width: usize) -> Vec<Line<'_>> {
    let width = width.max(1);
    let mut lines = Vec::new();
    for source in text.split('\n') {
        let source = source.strip_suffix('\r').unwrap_or(source);
        if is_plain(source) {
            wrap_plain(source, width, &mut lines);
        } else {
            wrap_chars(source, width, &mut lines);
        }
    }
    lines
}

/// [`wrap_chars`] for printable ASCII, where a character is a byte and one column: the lines
/// are slices of the text.
fn wrap_plain<'a>(source: &'a str, width: usize, lines: &mut Vec<Line<'a>>) {
    let bytes = source.as_bytes();
    let mut start = 0;
    loop {
        let mut end = (start + width).min(bytes.len());
        if end < bytes.len()
            && bytes[end] != b' '
            && let Some(space) = bytes[start..end].iter().rposition(|&b| b == b' ')
            && space > 0
        {
            end = start + space + 1;
        }
        let text = source[start..end].trim_end_matches(' ');
        lines.push(Line {
            text: Cow::Borrowed(text),
            width: text.len(),
        });
        start = end;
        if start < bytes.len() && bytes[start] == b' ' {
            start += 1;
        }
        if start >= bytes.len() {
            break;
        }
    }
}

fn wrap_chars(source: &str, width: usize, lines: &mut Vec<Line<'_>>) {
    let chars: Vec<char> = source
        .chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    let mut start = 0;
    loop {
        let mut end = start;
        let mut used = 0;
        while end < chars.len() && used + char_width(chars[end]) <= width {
            used += char_width(chars[end]);
            end += 1;
        }
        if end == start && end < chars.len() {
            end += 1; // a character wider than the column: give it a line of its own
        }
        // Inside a word: break after the line's last space instead, if it has one.
        if end < chars.len()
            && !chars[end].is_whitespace()
            && let Some(space) = chars[start..end].iter().rposition(|c| c.is_whitespace())
            && space > 0
        {
            end = start + space + 1;
        }
        let text = chars[start..end]
            .iter()
            .collect::<String>()
            .trim_end()
            .to_owned();
        let width = line_width(&text);
        lines.push(Line {
            text: Cow::Owned(text),
            width,
        });
        start = end;
        // The space a line was broken at does not start the next one.
        if start < chars.len() && chars[start].is_whitespace() {
            start += 1;
        }
        if start >= chars.len() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(rows: usize, width: Option<u16>) -> String {
        let mut out = Vec::new();
        let mut t = TableWriter::new(
            vec!["dest".into(), "process".into()],
            TableStyle {
                color: false,
                width,
            },
        );
        for i in 0..rows {
            let process = format!("msiexec.exe /i https://example.org/{i}/setup.msi /qn");
            t.row(&mut out, vec![format!("ws-{i}"), process]).unwrap();
        }
        t.finish(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn short_columns_keep_their_width_and_long_ones_wrap() {
        let t = render(2, Some(40));
        for line in t.lines() {
            assert!(line.chars().count() <= 40, "{line:?} in\n{t}");
        }
        assert!(t.contains("│ ws-0 ┆"), "dest is not squeezed:\n{t}");
        assert!(t.contains("/qn"), "nothing is cut off:\n{t}");
        assert!(t.lines().count() > 2 + 2 + 2, "the long column wraps:\n{t}");
    }

    #[test]
    fn without_a_width_nothing_wraps() {
        let t = render(2, None);
        assert_eq!(t.lines().count(), 3 + 2 + 1, "{t}");
        assert!(t.contains("msiexec.exe /i https://example.org/1/setup.msi /qn"));
    }

    #[test]
    fn rows_after_the_sample_are_written_as_they_come() {
        let mut out = Vec::new();
        let mut t = TableWriter::new(vec!["n".into()], TableStyle::default());
        for i in 0..SAMPLE_ROWS - 1 {
            t.row(&mut out, vec![i.to_string()]).unwrap();
        }
        assert!(out.is_empty(), "sampling");
        t.row(&mut out, vec!["last of the sample".into()]).unwrap();
        let written = out.len();
        assert!(written > 0);
        t.row(&mut out, vec!["x".into()]).unwrap();
        assert!(out.len() > written, "streamed");
        t.finish(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with("┘\n"));
    }

    #[test]
    fn fit_keeps_short_columns_whole_and_shares_the_rest() {
        assert_eq!(fit(&[4, 10, 80], None), Some(vec![4, 10, 80]));
        // 3 columns cost 10 columns of borders: 50 - 10 = 40 to share.
        assert_eq!(fit(&[4, 10, 80], Some(50)), Some(vec![4, 10, 26]));
        assert_eq!(fit(&[40, 40], Some(47)), Some(vec![20, 20]));
        // Eleven columns of result rows on 100 columns: no room, records instead.
        let eleven = [23, 6, 19, 12, 18, 76, 10, 17, 5, 19, 19];
        assert_eq!(fit(&eleven, Some(100)), None);
        let wide = fit(&eleven, Some(220)).unwrap();
        assert_eq!(&wide[..5], &[23, 6, 19, 12, 18], "short fields whole");
        assert!(wide[5] < 76 && wide[5] >= MIN_WRAPPED, "{wide:?}");
    }

    #[test]
    fn too_many_columns_for_the_width_are_written_as_records() {
        let mut out = Vec::new();
        let header: Vec<String> = (0..8).map(|i| format!("field_{i}")).collect();
        let mut t = TableWriter::new(
            header,
            TableStyle {
                color: false,
                width: Some(40),
            },
        );
        let row: Vec<String> = (0..8)
            .map(|i| format!("value number {i} of the row"))
            .collect();
        t.row(&mut out, row.clone()).unwrap();
        t.row(&mut out, row).unwrap();
        t.finish(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("── 1 ─"), "{text}");
        assert!(text.contains("\n── 2 ─"), "{text}");
        assert!(
            text.contains("field_3  value number 3 of the row\n"),
            "{text}"
        );
        for line in text.lines() {
            assert!(line.chars().count() <= 40, "{line:?}");
        }
    }

    proptest::proptest! {
        /// The ASCII shortcut breaks lines exactly where the general path does.
        #[test]
        fn plain_text_wraps_as_the_general_path_wraps(
            text in "[ -~]{0,80}",
            width in 1usize..24,
        ) {
            let mut plain = Vec::new();
            wrap_plain(&text, width, &mut plain);
            let mut chars = Vec::new();
            wrap_chars(&text, width, &mut chars);
            proptest::prop_assert_eq!(plain, chars);
        }
    }

    #[test]
    fn a_row_pads_every_line_of_every_cell_to_its_column() {
        let mut out = Vec::new();
        let cells = ["ab cd ef".to_owned(), "é\nx".to_owned(), String::new()];
        write_row(&mut out, &[5, 3, 2], &cells, '┆').unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text, "│ ab cd ┆ é   ┆    │\n│ ef    ┆ x   ┆    │\n",
            "{text}"
        );
    }

    /// Regression: a row was built whole before it was written, so a cell of a hundred
    /// thousand lines in a wide table was held as one buffer of hundreds of megabytes.
    #[test]
    fn a_row_of_many_lines_is_written_in_bounded_pieces() {
        struct Writes(Vec<usize>, Vec<u8>);
        impl Write for Writes {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                self.0.push(b.len());
                self.1.extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let lines = 20_000;
        let cells = [vec!["x"; lines].join("\n"), "y".to_owned()];
        let widths = [1, 400];
        let mut out = Writes(Vec::new(), Vec::new());
        write_row(&mut out, &widths, &cells, '┆').unwrap();
        let row_width = widths.iter().map(|w| w + 3).sum::<usize>() + 8;
        assert!(out.0.len() > 1, "written in pieces");
        assert!(
            out.0.iter().all(|&n| n < ROW_BUFFER + row_width),
            "{:?}",
            out.0
        );
        let text = String::from_utf8(out.1).unwrap();
        assert_eq!(text.lines().count(), lines);
        assert!(text.lines().all(|l| l.starts_with("│ x ┆ ")));
    }

    #[test]
    fn wrap_breaks_at_spaces_and_escapes_controls() {
        assert_eq!(wrap("ab cd ef", 5), vec!["ab cd", "ef"]);
        assert_eq!(wrap("abcdefgh", 3), vec!["abc", "def", "gh"]);
        assert_eq!(wrap("a\nb", 5), vec!["a", "b"]);
        assert_eq!(wrap("a\x1b[2Jb", 10), vec!["a\u{fffd}[2Jb"]);
        assert_eq!(wrap("", 4), vec![""]);
    }
}
