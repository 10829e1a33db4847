//! Helper of `scripts/render-fixtures`: re-encodes, crops and writes the hostile OCR fixtures.
//!
//! `fixture_tool jpeg IN OUT QUALITY` · `fixture_tool crop IN OUT X Y W H` ·
//! `fixture_tool hostile DIR SOURCE_PNG`

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).cloned().ok_or("missing argument");
    match arg(0)?.as_str() {
        "jpeg" => {
            let img = image::open(arg(1)?)?.to_rgb8();
            let out = std::fs::File::create(arg(2)?)?;
            let quality: u8 = arg(3)?.parse()?;
            let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(out, quality);
            enc.encode_image(&img)?;
        }
        "crop" => {
            let img = image::open(arg(1)?)?;
            let n = |i: usize| -> Result<u32, Box<dyn std::error::Error>> { Ok(arg(i)?.parse()?) };
            img.crop_imm(n(3)?, n(4)?, n(5)?, n(6)?).save(arg(2)?)?;
        }
        "hostile" => {
            let dir = std::path::PathBuf::from(arg(1)?);
            let source = std::fs::read(arg(2)?)?;
            // Cut off in the middle of the image data.
            std::fs::write(dir.join("truncated.png"), &source[..source.len() / 2])?;
            // A valid signature and header declaring 30000 x 30000, and nothing else.
            std::fs::write(dir.join("huge-header.png"), png_header(30000, 30000, 8, 2))?;
            // A real, complete PNG of 12000 x 12000 one-bit pixels: about 100 kB that would
            // decode into 144 MB.
            std::fs::write(dir.join("bomb.png"), bomb(12000, 12000)?)?;
            std::fs::write(
                dir.join("text.png"),
                b"This is a text file with a .png name.\n",
            )?;
            std::fs::write(dir.join("empty.png"), b"")?;
        }
        other => return Err(format!("unknown command {other}").into()),
    }
    Ok(())
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn png_header(width: u32, height: u32, depth: u8, color: u8) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[depth, color, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    out
}

fn bomb(width: u32, height: u32) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut out = png_header(width, height, 1, 0);
    let row = 1 + width.div_ceil(8) as usize;
    let mut z = ZlibStored::default();
    for _ in 0..height {
        z.zeros(row);
    }
    chunk(&mut out, b"IDAT", &z.finish());
    chunk(&mut out, b"IEND", &[]);
    Ok(out)
}

/// A minimal zlib stream of zeros, as fixed-Huffman deflate: one literal 0, then
/// length-258 copies at distance 1. Enough for a fixture; not a general compressor.
#[derive(Default)]
struct ZlibStored {
    pending: usize,
}

impl ZlibStored {
    fn zeros(&mut self, n: usize) {
        self.pending += n;
    }
    fn finish(self) -> Vec<u8> {
        let mut bits = BitWriter::default();
        bits.put(1, 1); // final block
        bits.put(1, 2); // fixed Huffman (BTYPE = 01, LSB first)
        let mut left = self.pending;
        if left > 0 {
            put_code(&mut bits, 0b00110000, 8); // literal 0
            left -= 1;
        }
        while left >= 3 {
            let n = left.min(258);
            let n = if left - n > 0 && left - n < 3 {
                n - 3
            } else {
                n
            };
            put_length(&mut bits, n);
            put_code(&mut bits, 0, 5); // distance code 0 = distance 1
            left -= n;
        }
        for _ in 0..left {
            put_code(&mut bits, 0b00110000, 8);
        }
        put_code(&mut bits, 0, 7); // end of block (256)
        let mut out = vec![0x78, 0x01];
        out.extend(bits.finish());
        let adler = adler32_zeros(self.pending);
        out.extend_from_slice(&adler.to_be_bytes());
        out
    }
}

fn put_length(bits: &mut BitWriter, n: usize) {
    // Length codes 257..285 with their extra bits (RFC 1951 3.2.5).
    const BASE: [usize; 29] = [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
        131, 163, 195, 227, 258,
    ];
    const EXTRA: [u32; 29] = [
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
    ];
    let i = BASE.iter().rposition(|&b| b <= n).unwrap_or(0);
    let code = 257 + i as u32;
    // Fixed Huffman: 256..279 are 7 bits from 0; 280..287 are 8 bits from 0b11000000.
    if code <= 279 {
        put_code(bits, code - 256, 7);
    } else {
        put_code(bits, 0b1100_0000 + (code - 280), 8);
    }
    bits.put((n - BASE[i]) as u32, EXTRA[i]);
}

/// Huffman codes go most significant bit first.
fn put_code(bits: &mut BitWriter, code: u32, len: u32) {
    for i in (0..len).rev() {
        bits.put((code >> i) & 1, 1);
    }
}

#[derive(Default)]
struct BitWriter {
    out: Vec<u8>,
    acc: u32,
    n: u32,
}

impl BitWriter {
    fn put(&mut self, value: u32, len: u32) {
        for i in 0..len {
            self.acc |= ((value >> i) & 1) << self.n;
            self.n += 1;
            if self.n == 8 {
                self.out.push(self.acc as u8);
                self.acc = 0;
                self.n = 0;
            }
        }
    }
    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        std::mem::take(&mut self.out)
    }
}

fn adler32_zeros(n: usize) -> u32 {
    let b = (n as u64 % 65521) as u32;
    (b << 16) | 1
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= byte as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
