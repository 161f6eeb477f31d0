namespace MLNet.BNInception.Imaging;

/// <summary>How <see cref="ImageCodec.Resize"/> interpolates; each value is one of OpenCV's cv::resize modes.</summary>
public enum ResizeFilter
{
    /// <summary><see cref="Area"/> when the image shrinks (no axis grows), otherwise <see cref="Linear"/>.</summary>
    Auto,

    /// <summary>INTER_AREA: averages the source pixels each target pixel covers; the right choice for shrinking.</summary>
    Area,

    /// <summary>INTER_LINEAR: bilinear, from the 2 × 2 nearest source pixels.</summary>
    Linear,

    /// <summary>INTER_NEAREST: the nearest source pixel.</summary>
    Nearest,

    /// <summary>INTER_CUBIC: bicubic, from the 4 × 4 nearest source pixels.</summary>
    Cubic,
}
