//! Plain-text tables: columns padded to their widest cell (counted in
//! characters, so accented client names line up), two spaces between columns,
//! no trailing spaces.

/// `rows` under `header` (when given), each line indented by `indent`.
pub fn render(header: Option<&[&str]>, rows: &[Vec<String>], indent: &str) -> String {
    let columns = header
        .map(<[&str]>::len)
        .into_iter()
        .chain(rows.iter().map(Vec::len))
        .max()
        .unwrap_or(0);
    let mut widths = vec![0; columns];
    let header_cells: Option<Vec<String>> =
        header.map(|h| h.iter().map(|c| (*c).to_owned()).collect());
    for row in header_cells.iter().chain(rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in header_cells.iter().chain(rows) {
        let mut line = String::from(indent);
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            let pad = w.saturating_sub(cell.chars().count());
            line.extend(std::iter::repeat_n(' ', pad));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_whatever_the_accents() {
        let rows = vec![
            vec![
                "Boulangerie Émile".to_owned(),
                "1".to_owned(),
                "0".to_owned(),
            ],
            vec!["Acme".to_owned(), "12".to_owned(), "3".to_owned()],
        ];
        let text = render(Some(&["CLIENT", "LIVE", "PAST"]), &rows, "");
        assert_eq!(
            text,
            "CLIENT             LIVE  PAST\nBoulangerie Émile  1     0\nAcme               12    3\n"
        );
        assert_eq!(render(None, &[vec!["a".into(), "".into()]], "  "), "  a\n");
    }
}
