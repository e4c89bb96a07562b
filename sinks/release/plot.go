package release

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Plot layout, in pixels: the margins hold the title, the axis labels and
// the tick labels (tests look for text there).
const (
	plotWidth, plotHeight = 720, 380
	plotLeft, plotBottom  = 64, 52
	plotTop, plotRight    = 30, 16
)

// Plot texts.
const (
	PlotTitle  = "Speedup of selected candidates over the reference"
	PlotXLabel = "speedup (log2 scale, 4 bins per doubling)"
	PlotYLabel = "candidates"
)

// histogramPNG draws the speedup distribution: bars over log2(speedup) bins
// from 1x up, with a title, labelled axes, tick labels at every doubling
// (1x, 2x, 4x, …) and at 0 and the tallest bar, drawn with the Go fonts'
// fixed 7x13 face, so nothing depends on system fonts. The same speedups
// always give the same bytes.
func histogramPNG(speedups []float64) ([]byte, error) {
	const binsPerOctave = 4
	width, height := plotWidth, plotHeight
	left, bottom, top, right := plotLeft, plotBottom, plotTop, plotRight
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
	face := basicfont.Face7x13
	text := func(dst draw.Image, s string, x, baseline int) {
		d := font.Drawer{Dst: dst, Src: image.NewUniform(axis), Face: face, Dot: fixed.P(x, baseline)}
		d.DrawString(s)
	}
	textWidth := func(s string) int { return font.MeasureString(face, s).Round() }
	for o := 0; o <= octaves; o++ {
		x := left + o*plotW/octaves
		fill(x-1, height-bottom+1, x+1, height-bottom+6, axis) // ticks at doublings
		l := fmt.Sprintf("%gx", math.Exp2(float64(o)))
		text(img, l, x-textWidth(l)/2, height-bottom+19)
	}
	for _, v := range []int{0, peak} { // y ticks: 0 and the tallest bar
		y := height - bottom - int(math.Round(float64(v)/float64(max(peak, 1))*float64(plotH)))
		fill(left-6, y, left-1, y+1, axis)
		l := fmt.Sprint(v)
		text(img, l, left-8-textWidth(l), y+4)
	}
	text(img, PlotXLabel, left+(plotW-textWidth(PlotXLabel))/2, height-10)
	text(img, PlotTitle, left+(plotW-textWidth(PlotTitle))/2, top-10)
	// The y label reads bottom to top: drawn flat, then turned a quarter.
	w := textWidth(PlotYLabel)
	flat := image.NewRGBA(image.Rect(0, 0, w, 13))
	draw.Draw(flat, flat.Bounds(), image.NewUniform(white), image.Point{}, draw.Src)
	text(flat, PlotYLabel, 0, 10)
	x0, y0 := 8, top+(plotH+w)/2
	for y := 0; y < 13; y++ {
		for x := 0; x < w; x++ {
			img.Set(x0+y, y0-x, flat.At(x, y))
		}
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
