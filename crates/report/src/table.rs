//! A table written as its rows arrive, with columns sized by their content.
//!
//! Key design decision: the writer holds at most [`SAMPLE_ROWS`] rows. Column widths are decided
//! from the header and those first rows; every later row is written at once, a value longer than
//! its column wrapping onto more lines inside the column. So memory does not grow with the
//! number of rows (`cimhunt events -f table` over a gigabyte of logs), at the price that a long
//! value first met late wraps instead of widening its column.
//!
//! Fitting a width (a terminal's) is shared max-min fair: columns narrower than an equal share of
//! what is left keep their natural width, and only the wide ones (command lines, paths) give up
//! space and wrap. A short field such as `dest` or `process_id` is never squeezed to make room for
//! a long one.

use std::io::{self, Write};

use unicode_width::UnicodeWidthChar;

/// How many rows a table keeps to size its columns before it starts writing.
pub const SAMPLE_ROWS: usize = 256;

/// The narrowest a column is made when the table must fit a width.
const MIN_COLUMN: usize = 6;

/// Table settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct TableStyle {
    /// Whether to use ANSI styling (a bold header).
    pub color: bool,
    /// Width to fit the table into, when known (a terminal's width); `None`: never wrap.
    pub width: Option<u16>,
}

/// Writes one table, row by row; call [`TableWriter::finish`] at the end.
#[derive(Debug)]
pub struct TableWriter {
    header: Vec<String>,
    style: TableStyle,
    /// Rows kept until the widths are decided.
    pending: Vec<Vec<String>>,
    /// Decided column widths (display columns); `None` while sampling.
    widths: Option<Vec<usize>>,
    rows: u64,
}

impl TableWriter {
    /// A table with these column names.
    pub fn new(header: Vec<String>, style: TableStyle) -> Self {
        TableWriter {
            header,
            style,
            pending: Vec::new(),
            widths: None,
            rows: 0,
        }
    }

    /// Adds a row (one cell per column; missing cells are empty, extra cells ignored).
    pub fn row(&mut self, out: &mut dyn Write, mut cells: Vec<String>) -> io::Result<()> {
        cells.resize(self.header.len(), String::new());
        self.rows += 1;
        match &self.widths {
            Some(widths) => write_row(out, widths, &cells, '┆'),
            None => {
                self.pending.push(cells);
                if self.pending.len() >= SAMPLE_ROWS {
                    self.start(out)?;
                }
                Ok(())
            }
        }
    }

    /// How many rows were added.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Decides the widths from the header and the pending rows, writes them.
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
        let widths = fit(&natural, self.style.width.map(usize::from));
        write_rule(out, &widths, ('┌', '─', '┬', '┐'))?;
        if self.style.color {
            write!(out, "\x1b[1m")?;
        }
        write_row(out, &widths, &self.header, '┆')?;
        if self.style.color {
            write!(out, "\x1b[0m")?;
        }
        write_rule(out, &widths, ('╞', '═', '╪', '╡'))?;
        for row in std::mem::take(&mut self.pending) {
            write_row(out, &widths, &row, '┆')?;
        }
        self.widths = Some(widths);
        Ok(())
    }

    /// Writes what is pending and the bottom border.
    pub fn finish(mut self, out: &mut dyn Write) -> io::Result<()> {
        if self.widths.is_none() {
            self.start(out)?;
        }
        if let Some(widths) = &self.widths {
            write_rule(out, widths, ('└', '─', '┴', '┘'))?;
        }
        Ok(())
    }
}

/// Column widths for natural widths `natural`, fitted into `width` when given: max-min fair
/// shares of the space left after borders and padding (each column costs 3 more columns).
pub fn fit(natural: &[usize], width: Option<usize>) -> Vec<usize> {
    let Some(width) = width else {
        return natural.to_vec();
    };
    let n = natural.len();
    let overhead = 3 * n + 1;
    let total: usize = natural.iter().sum::<usize>() + overhead;
    if total <= width || n == 0 {
        return natural.to_vec();
    }
    let mut remaining = width.saturating_sub(overhead);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&c| natural[c]);
    let mut widths = vec![0; n];
    for (i, &c) in order.iter().enumerate() {
        let share = remaining / (n - i);
        let w = natural[c].min(share.max(MIN_COLUMN));
        widths[c] = w;
        remaining = remaining.saturating_sub(w);
    }
    widths
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

/// One row: each cell wrapped to its column, as many lines as the tallest cell needs.
fn write_row(out: &mut dyn Write, widths: &[usize], cells: &[String], sep: char) -> io::Result<()> {
    let wrapped: Vec<Vec<String>> = cells
        .iter()
        .zip(widths)
        .map(|(cell, &w)| wrap(cell, w))
        .collect();
    let height = wrapped.iter().map(Vec::len).max().unwrap_or(1).max(1);
    for line_no in 0..height {
        let mut line = String::from("│");
        for (i, (lines, &w)) in wrapped.iter().zip(widths).enumerate() {
            if i > 0 {
                line.push(sep);
            }
            let text = lines.get(line_no).map_or("", String::as_str);
            line.push(' ');
            line.push_str(text);
            line.extend(std::iter::repeat_n(
                ' ',
                w.saturating_sub(text_width(text)) + 1,
            ));
        }
        line.push('│');
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// The display width of a text's widest line (control characters count as one column: they
/// are shown escaped).
pub fn text_width(text: &str) -> usize {
    text.split('\n').map(line_width).max().unwrap_or(0)
}

fn line_width(line: &str) -> usize {
    line.chars().map(char_width).sum()
}

fn char_width(c: char) -> usize {
    if c.is_control() {
        1
    } else {
        c.width().unwrap_or(0)
    }
}

/// A cell's text as lines of at most `width` columns: its own lines, each broken after the last
/// space that fits, or anywhere when no space does. Control characters are shown as `�` so they
/// cannot move the terminal's cursor.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    for source in text.split('\n') {
        let source = source.strip_suffix('\r').unwrap_or(source);
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
            lines.push(
                chars[start..end]
                    .iter()
                    .collect::<String>()
                    .trim_end()
                    .to_owned(),
            );
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
    lines
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
    fn fit_is_max_min_fair() {
        assert_eq!(fit(&[4, 10, 80], None), vec![4, 10, 80]);
        // 3 columns cost 10 columns of borders: 50 - 10 = 40 to share.
        assert_eq!(fit(&[4, 10, 80], Some(50)), vec![4, 10, 26]);
        assert_eq!(fit(&[40, 40], Some(47)), vec![20, 20]);
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
