package release

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
)

// histogramPNG draws the speedup distribution: bars over log2(speedup) bins
// from 1x up, with axes and a faint line at every doubling. No text, so no
// font dependency; the card's caption says what the axes are. The same
// speedups always give the same bytes.
func histogramPNG(speedups []float64) ([]byte, error) {
	const (
		width, height = 640, 320
		left, bottom  = 40, 30
		top, right    = 10, 10
		binsPerOctave = 4
	)
	maxLog := 1.0
	for _, s := range speedups {
		if s > 1 {
			maxLog = max(maxLog, math.Log2(s))
		}
	}
	octaves := int(math.Ceil(maxLog))
	nbins := octaves * binsPerOctave
	counts := make([]int, nbins)
	peak := 0
	for _, s := range speedups {
		x := 0.0
		if s > 1 {
			x = math.Log2(s)
		}
		i := min(nbins-1, int(x*binsPerOctave))
		counts[i]++
		peak = max(peak, counts[i])
	}
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	fill := func(x0, y0, x1, y1 int, c color.RGBA) {
		for y := max(0, y0); y < min(height, y1); y++ {
			for x := max(0, x0); x < min(width, x1); x++ {
				img.SetRGBA(x, y, c)
			}
		}
	}
	white := color.RGBA{255, 255, 255, 255}
	axis := color.RGBA{40, 40, 40, 255}
	grid := color.RGBA{220, 220, 220, 255}
	bar := color.RGBA{204, 51, 17, 255} // ROCm-ish red
	fill(0, 0, width, height, white)
	plotW, plotH := width-left-right, height-top-bottom
	for o := 0; o <= octaves; o++ { // one grid line per doubling: 1x, 2x, 4x, …
		x := left + o*plotW/octaves
		fill(x, top, x+1, height-bottom, grid)
	}
	bw := plotW / nbins
	for i, n := range counts {
		if n == 0 {
			continue
		}
		h := int(math.Round(float64(n) / float64(peak) * float64(plotH)))
		x := left + i*plotW/nbins
		fill(x+1, height-bottom-h, x+max(2, bw)-1, height-bottom, bar)
	}
	fill(left-1, top, left+1, height-bottom+1, axis)                  // y axis
	fill(left-1, height-bottom-1, width-right, height-bottom+1, axis) // x axis
	for o := 0; o <= octaves; o++ {
		x := left + o*plotW/octaves
		fill(x-1, height-bottom+1, x+1, height-bottom+6, axis) // ticks at doublings
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
