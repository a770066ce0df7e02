//! CSV records, written with the `csv` crate: RFC 4180 quoting (fields holding a comma, a
//! quote, CR or LF are quoted, quotes doubled), `\n` line ends.

use std::io::{self, Write};

/// Writes one record. Each record is written whole, so a caller can stream records to any
/// writer and see its I/O errors as they happen.
pub(crate) fn write_record<'a>(
    out: &mut dyn Write,
    fields: impl IntoIterator<Item = &'a str>,
) -> io::Result<()> {
    let mut w = csv::WriterBuilder::new()
        .buffer_capacity(1024)
        .from_writer(Vec::new());
    w.write_record(fields.into_iter().map(str::as_bytes))
        .map_err(io::Error::other)?;
    let bytes = w
        .into_inner()
        .map_err(|e| io::Error::other(e.to_string()))?;
    out.write_all(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(fields: &[&str]) -> String {
        let mut out = Vec::new();
        write_record(&mut out, fields.iter().copied()).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn quotes_only_what_it_must() {
        assert_eq!(line(&["a", "b c", ""]), "a,b c,\n");
        assert_eq!(line(&["x,y", "say \"hi\""]), "\"x,y\",\"say \"\"hi\"\"\"\n");
        assert_eq!(line(&["two\nlines", "r\rn"]), "\"two\nlines\",\"r\rn\"\n");
    }
}
