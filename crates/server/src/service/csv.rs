//! A small RFC 4180 CSV reader and writer (quoted fields, doubled quotes, CRLF), bounded.
//! Written cells that start with `=`, `+`, `-` or `@` get a leading `'` so spreadsheets do not
//! run them as formulas (the strings come from attackers).

/// Most rows one import accepts.
pub const MAX_ROWS: usize = 200_000;
/// Longest cell.
pub const MAX_CELL: usize = 4096;

/// Parses CSV text into rows; errors name the line.
pub fn parse(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut line = 1usize;
    let mut chars = text.chars().peekable();
    let mut row_has_content = false;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cell.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    cell.push(c);
                }
                _ => cell.push(c),
            }
        } else {
            match c {
                '"' if cell.is_empty() => {
                    quoted = true;
                    row_has_content = true;
                }
                ',' => {
                    row.push(std::mem::take(&mut cell));
                    row_has_content = true;
                }
                '\r' => {}
                '\n' => {
                    if row_has_content || !cell.is_empty() {
                        row.push(std::mem::take(&mut cell));
                        rows.push(std::mem::take(&mut row));
                    }
                    row_has_content = false;
                    line += 1;
                }
                _ => {
                    cell.push(c);
                    row_has_content = true;
                }
            }
        }
        if cell.len() > MAX_CELL {
            return Err(format!("line {line}: cell longer than {MAX_CELL} bytes"));
        }
        if rows.len() > MAX_ROWS {
            return Err(format!("more than {MAX_ROWS} rows"));
        }
    }
    if quoted {
        return Err(format!("line {line}: unterminated quoted field"));
    }
    if row_has_content || !cell.is_empty() {
        row.push(cell);
        rows.push(row);
    }
    Ok(rows)
}

/// One CSV line (with the trailing CRLF).
pub fn line(cells: &[&str]) -> String {
    let mut out = String::new();
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let guarded = if c.starts_with(['=', '+', '-', '@']) {
            format!("'{c}")
        } else {
            (*c).to_string()
        };
        if guarded.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&guarded.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&guarded);
        }
    }
    out.push_str("\r\n");
    out
}

/// A data row: its line number and (column, cell) pairs.
pub type Record = (usize, Vec<(String, String)>);

/// Rows as maps from header name to cell; checks the header names.
pub fn records(text: &str, expected: &[&str]) -> Result<Vec<Record>, String> {
    let rows = parse(text)?;
    let mut it = rows.into_iter();
    let header: Vec<String> = it
        .next()
        .ok_or("empty CSV: expected a header line")?
        .into_iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    for h in &header {
        if !expected.contains(&h.as_str()) {
            return Err(format!(
                "unknown column {h:?} (expected some of: {})",
                expected.join(", ")
            ));
        }
    }
    let mut out = Vec::new();
    for (i, r) in it.enumerate() {
        if r.len() != header.len() {
            return Err(format!(
                "row {}: {} cells, header has {}",
                i + 2,
                r.len(),
                header.len()
            ));
        }
        out.push((
            i + 2,
            header
                .iter()
                .cloned()
                .zip(r.into_iter().map(|c| c.trim().to_string()))
                .collect(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_quotes_commas_and_guards_formulas() {
        let l = line(&["a,b", "say \"hi\"", "=cmd()", "plain"]);
        assert_eq!(l, "\"a,b\",\"say \"\"hi\"\"\",'=cmd(),plain\r\n");
        let rows = parse(&l).unwrap();
        assert_eq!(rows, vec![vec!["a,b", "say \"hi\"", "'=cmd()", "plain"]]);
        assert!(parse("\"open").is_err());
        let recs = records("name,region\nA,North\r\n", &["name", "region", "unit_type"]).unwrap();
        assert_eq!(recs[0].1[1], ("region".to_string(), "North".to_string()));
        assert!(records("bogus\nx\n", &["name"]).is_err());
        assert!(records("name,region\nA\n", &["name", "region"]).is_err());
    }
}
