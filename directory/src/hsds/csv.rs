//! The CSV of the datapackage: writing a table (lists as `a;b`, objects as JSON in a cell) and
//! reading RFC 4180 text back into rows, with the line of any error.

use serde_json::Value;

use super::tables::Row;

fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Array(a)) => a.iter().map(|x| cell(Some(x))).collect::<Vec<_>>().join(";"),
        Some(o @ Value::Object(_)) => o.to_string(),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

pub(super) fn write_csv(columns: &[&str], rows: &[(String, Row)]) -> String {
    let mut out = columns.join(",");
    out.push_str("\r\n");
    for (_, r) in rows {
        let line: Vec<String> = columns.iter().map(|c| csv_field(&cell(r.get(*c)))).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// Parses RFC 4180 CSV. Errors carry the line number.
pub(super) fn parse_csv(text: &str) -> Result<Vec<Vec<String>>, (usize, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    let mut quoted_from = None;
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if let Some(start) = quoted_from {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => {
                    quoted_from = None;
                    if !matches!(chars.peek(), None | Some(',' | '\r' | '\n')) {
                        return Err((start, "a quoted field must end at a comma or the end of the line".into()));
                    }
                }
                c => {
                    if c == '\n' {
                        line += 1;
                    }
                    field.push(c);
                }
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                quoted_from = Some(line);
                at_field_start = false;
            }
            ',' => {
                row.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                line += 1;
                at_field_start = true;
            }
            c => {
                field.push(c);
                at_field_start = false;
            }
        }
    }
    if let Some(start) = quoted_from {
        return Err((start, "a quoted field is never closed".into()));
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    // Blank lines carry no record.
    rows.retain(|r| !(r.len() == 1 && r[0].trim().is_empty()));
    Ok(rows)
}
