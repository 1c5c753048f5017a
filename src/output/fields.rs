//! One record as FIELD / VALUE rows: a created token, a database, `status`.

/// The header of every such table.
pub const HEADER: [&str; 2] = ["FIELD", "VALUE"];

/// One row: the field's name and its value.
pub fn row(field: &str, value: String) -> Vec<String> {
    vec![field.to_string(), value]
}

/// One item of a list as rows: each column's name beside the item's cell.
pub fn of_columns(columns: &[&str], cells: impl IntoIterator<Item = String>) -> Vec<Vec<String>> {
    columns.iter().zip(cells).map(|(c, v)| row(c, v)).collect()
}

/// The rows as a table.
pub fn table(rows: &[Vec<String>]) -> String {
    super::table(&HEADER, rows)
}
