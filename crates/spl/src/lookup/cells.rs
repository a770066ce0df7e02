//! A lookup table's cells, held in one text.
//!
//! Key design decision: a table is read once and then only read, so its cells need no string of
//! their own. Every cell is appended to one `String`, and one offset per cell marks where it
//! ends. ESCU's largest table (92,000 rows of two columns) took ~15 MB as a vector of rows of
//! strings, for 2.2 MB of text; here it takes its text plus one offset per cell.

/// Rows of `width` cells each, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cells {
    width: usize,
    rows: usize,
    text: String,
    /// Per cell, in row order, where its text ends in `text`.
    ends: Vec<usize>,
}

impl Cells {
    /// No rows, of `width` cells each.
    pub fn new(width: usize) -> Self {
        Cells {
            width,
            ..Cells::default()
        }
    }

    /// Adds a row: its first `width` cells, and empty cells after them when it has fewer.
    pub fn push_row<'a>(&mut self, cells: impl IntoIterator<Item = &'a str>) {
        let mut n = 0;
        for cell in cells.into_iter().take(self.width) {
            self.text.push_str(cell);
            self.ends.push(self.text.len());
            n += 1;
        }
        for _ in n..self.width {
            self.ends.push(self.text.len());
        }
        self.rows += 1;
    }

    /// Gives back the room left over after the last row.
    pub fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// How many cells each row has.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The cell of `row` in column `col`.
    pub fn get(&self, row: usize, col: usize) -> Option<&str> {
        if row >= self.rows || col >= self.width {
            return None;
        }
        let i = row * self.width + col;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.text.get(start..self.ends[i])
    }

    /// The cells of `row`, in column order (none past the last row).
    pub fn row(&self, row: usize) -> impl ExactSizeIterator<Item = &str> + '_ {
        let width = if row < self.rows { self.width } else { 0 };
        (0..width).map(move |c| self.get(row, c).unwrap_or(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_read_back_as_pushed_with_short_rows_padded_and_long_rows_cut() {
        let mut cells = Cells::new(3);
        cells.push_row(["a", "", "ccc"]);
        cells.push_row(["dd"]);
        cells.push_row(["e", "f", "g", "h"]);
        cells.push_row(["", "", ""]);
        assert_eq!(cells.len(), 4);
        let rows: Vec<Vec<&str>> = (0..cells.len()).map(|r| cells.row(r).collect()).collect();
        assert_eq!(
            rows,
            [
                vec!["a", "", "ccc"],
                vec!["dd", "", ""],
                vec!["e", "f", "g"],
                vec!["", "", ""],
            ]
        );
        assert_eq!(cells.get(0, 3), None);
        assert_eq!(cells.get(4, 0), None);
        assert_eq!(cells.row(4).len(), 0);
    }

    #[test]
    fn a_table_without_columns_still_counts_its_rows() {
        let mut cells = Cells::new(0);
        cells.push_row(["x"]);
        cells.push_row([]);
        assert_eq!(cells.len(), 2);
        assert_eq!(cells.row(0).len(), 0);
    }
}
