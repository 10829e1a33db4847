//! Purpose: from Tesseract's word boxes to an [`OcrPage`]: lines of text, phrases, and each
//! form label paired with its value (to its right on the same line, or just below it), under
//! the nearest section heading of its column. Tables work both ways round: a row per service
//! (its first cell names it) or a column per service (its header names it).
//!
//! What counts as a label, and which service a heading names, is the core's vocabulary
//! (`core::screenshot::label_kind`, `service_of`); only the geometry lives here.

use crate::core::screenshot::{
    is_security_value, label_kind, service_of, LabelKind, OcrField, OcrPage, CHECKED, UNCHECKED,
};

use super::prep::Rect;

/// One recognised word and its box, in the prepared image's pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    pub line: (u32, u32, u32),
    pub left: u32,
    pub top: u32,
    pub width: u32,
    pub height: u32,
    pub conf: f32,
    pub text: String,
}

/// Words from Tesseract's TSV output (level 5 rows), skipping empty and hopeless ones.
pub fn words_from_tsv(tsv: &str) -> Vec<Word> {
    tsv.lines()
        .filter_map(|row| {
            let cols: Vec<&str> = row.split('\t').collect();
            if cols.len() < 12 || cols[0] != "5" {
                return None;
            }
            let n = |i: usize| cols[i].trim().parse::<u32>().ok();
            let text = cols[11].trim();
            let conf: f32 = cols[10].trim().parse().ok()?;
            if text.is_empty() || conf < 10.0 {
                return None;
            }
            Some(Word {
                line: (n(2)?, n(3)?, n(4)?),
                left: n(6)?,
                top: n(7)?,
                width: n(8)?,
                height: n(9)?,
                conf,
                text: text.to_string(),
            })
        })
        .collect()
}

/// Words that sit together on one line, closer than a column gap.
#[derive(Debug, Clone)]
struct Phrase {
    text: String,
    left: u32,
    top: u32,
    right: u32,
    bottom: u32,
}

impl Phrase {
    fn height(&self) -> u32 {
        (self.bottom - self.top).max(1)
    }
    fn center_y(&self) -> u32 {
        (self.top + self.bottom) / 2
    }
    /// A host name or an address: a value, never a label or a heading.
    fn is_value_like(&self) -> bool {
        let b = self.text.as_bytes();
        self.text.contains('@')
            || b.windows(3).any(|w| {
                w[0].is_ascii_alphanumeric() && w[1] == b'.' && w[2].is_ascii_alphanumeric()
            })
            || self.text.chars().all(|c| c.is_ascii_digit())
    }
}

/// Builds the page: lines (reading order), fields, and the banner's text.
pub fn page(words: &[Word], banner: Option<Rect>) -> OcrPage {
    // Tesseract's own lines, in reading order (top, then left).
    let mut lines: Vec<Vec<&Word>> = Vec::new();
    for word in words {
        match lines.iter_mut().find(|l| l[0].line == word.line) {
            Some(line) => line.push(word),
            None => lines.push(vec![word]),
        }
    }
    for line in &mut lines {
        line.sort_by_key(|w| w.left);
    }
    lines.sort_by_key(|l| (l.iter().map(|w| w.top).min(), l[0].left));

    let mut phrases: Vec<Phrase> = Vec::new();
    let mut texts = Vec::new();
    let mut banner_text = Vec::new();
    for line in &lines {
        texts.push(join(line));
        if let Some(b) = banner {
            let inside: Vec<&Word> = line
                .iter()
                .copied()
                .filter(|w| b.contains(w.left + w.width / 2, w.top + w.height / 2))
                .collect();
            if !inside.is_empty() {
                banner_text.push(join(&inside));
            }
        }
        let mut heights: Vec<u32> = line.iter().map(|w| w.height).collect();
        heights.sort_unstable();
        let h = heights[heights.len() / 2].max(1);
        let mut current: Vec<&Word> = Vec::new();
        for w in line {
            // An input box's edge read as a mark ("|", "[", "_"): it separates a label from
            // its value, and belongs to neither.
            if is_box_edge(&w.text) {
                if !current.is_empty() {
                    phrases.push(phrase(&current));
                    current.clear();
                }
                continue;
            }
            if let Some(last) = current.last() {
                let gap = w.left.saturating_sub(last.left + last.width);
                // A checkbox or radio button starts a phrase of its own, except the next
                // option of a radio group, which stays with the group however wide apart.
                let group = is_mark(&current[0].text);
                let split = if is_mark(&w.text) {
                    !group || gap > h * 6
                } else {
                    gap * 2 > h * 3
                };
                if split {
                    phrases.push(phrase(&current));
                    current.clear();
                }
            }
            current.push(w);
        }
        if !current.is_empty() {
            phrases.push(phrase(&current));
        }
    }

    // A label word that is also a security value ("SSL" heading a column, "Use STARTTLS") is
    // a label only where no other label claims it as a value: accepted top to bottom, each
    // against the labels accepted so far.
    let label_like = |p: &Phrase| {
        !p.is_value_like()
            && !p.text.starts_with([CHECKED, UNCHECKED])
            && label_kind(&p.text).is_some()
    };
    let mut is_label: Vec<bool> = phrases
        .iter()
        .map(|p| label_like(p) && !is_security_value(&p.text))
        .collect();
    let mut maybe: Vec<usize> = (0..phrases.len())
        .filter(|&i| label_like(&phrases[i]) && is_security_value(&phrases[i].text))
        .collect();
    maybe.sort_by_key(|&i| (phrases[i].top, phrases[i].left));
    for i in maybe {
        let (_, claimed) = pair(&phrases, &is_label);
        if !claimed[i] {
            is_label[i] = true;
        }
    }
    let (fields, _) = pair(&phrases, &is_label);
    OcrPage {
        lines: texts,
        fields,
        banner: (!banner_text.is_empty()).then(|| banner_text.join("\n")),
        second: None,
    }
}

/// Pairs each label (`is_label`, by phrase) with its value or, in a table, its cells. Also
/// says which phrases were taken as values.
fn pair(phrases: &[Phrase], is_label: &[bool]) -> (Vec<OcrField>, Vec<bool>) {
    let mut fields = Vec::new();
    let mut claimed = vec![false; phrases.len()];
    let mut used_as_value = vec![false; phrases.len()];
    let mut labels = Vec::new();
    for (i, label) in phrases.iter().enumerate() {
        if !is_label[i] {
            continue;
        }
        let h = label.height();
        // To the right on the same line.
        let right = right_of(phrases, i);
        // Just below, overlapping its column.
        let below = || {
            phrases
                .iter()
                .enumerate()
                .filter(|(j, p)| {
                    *j != i
                        && p.top * 2 > label.top * 2 + h
                        && p.top.saturating_sub(label.bottom) < h * 4
                        && p.left < label.right + h * 2
                        && p.right + h > label.left
                })
                .min_by_key(|(_, p)| p.top)
        };
        // A heading naming a service ("Incoming (IMAP)") is never a value.
        let heading = |p: &Phrase| !p.is_value_like() && service_of(&p.text).is_some();
        // A label made of value words ("SSL") heads a column; beside it, without a colon, is
        // the next value of a row whose own label was lost ("SSL/TLS  STARTTLS").
        let column_only = is_security_value(&label.text) && !label.text.trim_end().ends_with(':');
        let right = right
            .filter(|(j, p)| !column_only && !is_label[*j] && !heading(p) && !is_sentence(&p.text))
            .map(|(j, _)| j);
        // A password's box is next to or just below its label: farther down is the next
        // line of the form ("Advanced"), which must not read as a visible password.
        let reach = if matches!(label_kind(&label.text), Some((LabelKind::Password, _))) {
            h * 5 / 2
        } else {
            h * 4
        };
        let below = below()
            .or_else(|| first_below(phrases, i))
            .filter(|(j, p)| {
                !is_label[*j]
                    && !heading(p)
                    && !is_sentence(&p.text)
                    && p.top.saturating_sub(label.bottom) < reach
            })
            .map(|(j, _)| j);
        // "Port:" is followed by its value; a label without a colon sits above its box, and a
        // tilted screenshot can put the next column's box on its line.
        // Below a colon label, its box's padding can put the value up to two heights down.
        let value = if label.text.trim_end().ends_with(':') {
            right.or(below.filter(|&j| phrases[j].top.saturating_sub(label.bottom) < h * 2))
        } else {
            below.or(right)
        };
        if let Some(j) = value {
            used_as_value[j] = true;
        }
        labels.push((i, value));
    }
    // A checkbox with its own sentence ("☑ This server requires an encrypted connection") is a
    // field by itself, unless a label took it as its value: the sentence is the label, the
    // mark the value.
    for (i, p) in phrases.iter().enumerate() {
        let mut chars = p.text.chars();
        let Some(mark) = chars.next().filter(|c| *c == CHECKED || *c == UNCHECKED) else {
            continue;
        };
        let rest = chars.as_str().trim();
        if used_as_value[i] || rest.is_empty() || rest.contains([CHECKED, UNCHECKED]) {
            continue;
        }
        // Its service: named by the label of its row ("Incoming port: 993 ☑ Use TLS/SSL"), or
        // by the heading above.
        let row_label = phrases
            .iter()
            .filter(|l| {
                l.right <= p.left
                    && l.center_y().abs_diff(p.center_y()) * 10 < p.height().max(l.height()) * 7
                    && service_of(&l.text).is_some()
            })
            .max_by_key(|l| l.right);
        let section = row_label.or_else(|| heading_above(phrases, &used_as_value, i));
        fields.push(OcrField {
            section: section.map(|p| p.text.clone()),
            label: rest.to_string(),
            value: mark.to_string(),
        });
    }
    for (i, value) in labels {
        let label = &phrases[i];
        let heading = heading_above(phrases, &used_as_value, i).map(|p| p.text.clone());
        // A table: a column header above, each row named by its first cell ("IMAP", "SMTP").
        // Every cell of the column is a value of that row's service.
        let mut cells = value.into_iter().collect::<Vec<_>>();
        // A table the other way round: one column per service under its header ("Incoming
        // (IMAP)", "Outgoing (SMTP)"), one row per setting. The label's row holds a value for
        // each column.
        let mut across = false;
        if let Some(&first) = cells.first() {
            if row_header(phrases, &used_as_value, is_label, first).is_some() {
                cells.extend(column_below(phrases, first, is_label));
            } else if column_header(phrases, &used_as_value, first).is_some() {
                let more = row_right(phrases, &used_as_value, first, is_label);
                across = !more.is_empty();
                cells.extend(more);
            }
        }
        if cells.is_empty() {
            fields.push(OcrField {
                section: heading.clone(),
                label: label.text.clone(),
                value: String::new(),
            });
        }
        for j in cells {
            claimed[j] = true;
            let column = || column_header(phrases, &used_as_value, j).map(|p| p.text.clone());
            let section = row_header(phrases, &used_as_value, is_label, j)
                .map(|p| p.text.clone())
                .or_else(|| if across { column() } else { None })
                .or_else(|| heading.clone())
                .or_else(column);
            fields.push(OcrField {
                section,
                label: label.text.clone(),
                value: phrases[j].text.clone(),
            });
        }
    }
    (fields, claimed)
}

/// The first phrase on the nearest line below a label when that line begins a little right of
/// the label's own start, with nothing between: a value whose box starts with a control (a
/// stepper's "−  993  +"), which the column overlap of `below` misses.
fn first_below(phrases: &[Phrase], i: usize) -> Option<(usize, &Phrase)> {
    let label = &phrases[i];
    let h = label.height();
    let next_top = phrases
        .iter()
        .filter(|p| p.top * 2 > label.top * 2 + h && p.top.saturating_sub(label.bottom) < h * 4)
        .filter(|p| p.right + h > label.left && p.left < label.left + h * 8)
        .map(|p| p.top)
        .min()?;
    phrases
        .iter()
        .enumerate()
        .filter(|(j, p)| {
            *j != i
                && p.top.abs_diff(next_top) < h
                && p.right + h > label.left
                && p.left < label.left + h * 8
        })
        .min_by_key(|(_, p)| p.left)
}

/// The first cell of a value's row when it names a service (a table's row header). A label is
/// never a row header: "Incoming server (IMAP):" names its own value's service, not a row's.
fn row_header<'a>(
    phrases: &'a [Phrase],
    values: &[bool],
    is_label: &[bool],
    cell: usize,
) -> Option<&'a Phrase> {
    let c = &phrases[cell];
    phrases
        .iter()
        .enumerate()
        .filter(|(j, p)| {
            *j != cell
                && !values[*j]
                && !is_label[*j]
                && !p.is_value_like()
                && p.right <= c.left
                // On the same row; a screenshot tilted by up to 3° shifts a row header far to
                // the left by up to a twentieth of the distance.
                && p.center_y().abs_diff(c.center_y()) * 10
                    < c.height().max(p.height()) * 7 + (c.left - p.right) / 2
                && service_of(&p.text).is_some()
        })
        .map(|(_, p)| p)
        .min_by_key(|p| (p.center_y().abs_diff(c.center_y()), p.left))
}

/// The phrase naming a service nearest above a value, overlapping its column: a table's column
/// header, or the heading of a form's column.
fn column_header<'a>(phrases: &'a [Phrase], values: &[bool], cell: usize) -> Option<&'a Phrase> {
    let c = &phrases[cell];
    phrases
        .iter()
        .enumerate()
        .filter(|(j, p)| {
            *j != cell
                && !values[*j]
                && !p.is_value_like()
                && p.bottom <= c.top + c.height() / 2
                && p.left < c.right
                && p.right > c.left
                && service_of(&p.text).is_some()
        })
        .map(|(_, p)| p)
        .max_by_key(|p| p.bottom)
}

/// The further cells on `first`'s row, left to right, while each sits under a column header
/// that names a service.
fn row_right(phrases: &[Phrase], values: &[bool], first: usize, is_label: &[bool]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut last = first;
    loop {
        match right_of(phrases, last) {
            Some((j, _)) if !is_label[j] && column_header(phrases, values, j).is_some() => {
                out.push(j);
                last = j;
            }
            _ => return out,
        }
    }
}

/// The cells below `first` in its column, top to bottom, up to the next label.
fn column_below(phrases: &[Phrase], first: usize, is_label: &[bool]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut last = &phrases[first];
    loop {
        let h = last.height();
        let next = phrases
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                p.top * 2 > last.top * 2 + h
                    && p.top.saturating_sub(last.bottom) < h * 3
                    && p.left < last.right + h
                    && p.right + h > last.left
            })
            .min_by_key(|(_, p)| p.top);
        // A table's cells line up (left, right or centre) and are short; a footnote under the
        // table ("If port 993 is blocked, use …") is neither.
        let aligned = |p: &Phrase| {
            p.left.abs_diff(last.left) < h * 2
                || p.right.abs_diff(last.right) < h * 2
                || (p.left + p.right).abs_diff(last.left + last.right) < h * 4
        };
        match next {
            Some((j, p)) if !is_label[j] && aligned(p) && !is_sentence(&p.text) => {
                out.push(j);
                last = p;
            }
            _ => return out,
        }
    }
}

/// Running text (a hint, a footnote), not a field's value: six words or more (of two letters
/// or more: a radio group's marks and short options are not a sentence).
fn is_sentence(text: &str) -> bool {
    text.split_whitespace()
        .filter(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 2)
        .count()
        >= 6
}

/// The heading a label sits under: a phrase naming a service, above it, in its column (the
/// nearest column start to its left, then the nearest above).
fn heading_above<'a>(phrases: &'a [Phrase], values: &[bool], label: usize) -> Option<&'a Phrase> {
    let l = &phrases[label];
    let h = l.height();
    let candidates: Vec<&Phrase> = phrases
        .iter()
        .enumerate()
        .filter(|(j, p)| {
            *j != label
                && !values[*j]
                && !p.is_value_like()
                && p.bottom <= l.top + h / 2
                && p.left <= l.left + h * 2
                && service_of(&p.text).is_some()
        })
        .map(|(_, p)| p)
        .collect();
    let column = candidates.iter().map(|p| p.left).max()?;
    candidates
        .into_iter()
        .filter(|p| p.left + h * 3 >= column)
        .max_by_key(|p| p.bottom)
}

/// The nearest phrase to the right of `phrases[i]` on the same line (centres within 0.7 of
/// the taller height), and not farther than 30 of its heights.
fn right_of(phrases: &[Phrase], i: usize) -> Option<(usize, &Phrase)> {
    let from = &phrases[i];
    let h = from.height();
    phrases
        .iter()
        .enumerate()
        .filter(|(j, p)| {
            *j != i
                && p.left > from.right
                && p.left - from.right < h * 30
                && p.center_y().abs_diff(from.center_y()) * 10 < h.max(p.height()) * 7
        })
        .min_by_key(|(_, p)| p.left - from.right)
}

/// A checkbox or radio button's word, from `ocr::marks`.
fn is_mark(text: &str) -> bool {
    text.chars().eq([CHECKED]) || text.chars().eq([UNCHECKED])
}

fn is_box_edge(text: &str) -> bool {
    text.chars().count() <= 2 && text.chars().all(|c| "|[]_{}()!-—=~¦".contains(c))
}

fn join(words: &[&Word]) -> String {
    words
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn phrase(words: &[&Word]) -> Phrase {
    Phrase {
        text: join(words),
        left: words.iter().map(|w| w.left).min().unwrap_or(0),
        top: words.iter().map(|w| w.top).min().unwrap_or(0),
        right: words.iter().map(|w| w.left + w.width).max().unwrap_or(0),
        bottom: words.iter().map(|w| w.top + w.height).max().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests;
