using System.Globalization;
using System.Text;
using MLNet.BNInception.Data;

namespace MLNet.BNInception.Datasets;

/// <summary>The CSV files <see cref="FashionMnistImageFiles.Prepare"/> wrote.</summary>
/// <param name="Folder">The root folder; image paths in the CSVs are relative to it.</param>
/// <param name="TrainCsv">ImagePath,Label rows for training.</param>
/// <param name="TestCsv">ImagePath,Label rows for testing.</param>
/// <param name="ScoreCsv">ImagePath rows (the test images, no labels), for batch scoring.</param>
public sealed record FashionMnistFiles(string Folder, string TrainCsv, string TestCsv, string ScoreCsv);

/// <summary>
/// Writes Debian's Fashion-MNIST as PNG files listed in CSV files: the shape of data users bring
/// (a folder of images and a CSV of paths and labels), made from real images already on the machine.
/// </summary>
public static class FashionMnistImageFiles
{
    /// <summary>
    /// Writes the first <paramref name="trainCount"/> training and <paramref name="testCount"/> test
    /// images under <paramref name="folder"/> (images/train, images/test) and train.csv, test.csv and
    /// score.csv beside them. Does nothing when the same set is already there; files are written
    /// under temporary names and renamed, so an interrupted run never leaves a partial CSV.
    /// </summary>
    public static FashionMnistFiles Prepare(string folder, int trainCount, int testCount, string sourceFolder = FashionMnist.DefaultFolder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentOutOfRangeException.ThrowIfLessThan(trainCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(testCount, 1);
        var files = new FashionMnistFiles(folder, Path.Combine(folder, "train.csv"), Path.Combine(folder, "test.csv"), Path.Combine(folder, "score.csv"));
        string marker = Path.Combine(folder, "prepared.txt");
        string description = $"fashion-mnist train={trainCount} test={testCount}";
        if (File.Exists(marker) && File.ReadAllText(marker) == description)
        {
            return files;
        }

        Directory.CreateDirectory(folder);
        File.Delete(marker);
        WriteSplit(folder, sourceFolder, "train", "train", trainCount, files.TrainCsv, scoreCsv: null);
        WriteSplit(folder, sourceFolder, "t10k", "test", testCount, files.TestCsv, files.ScoreCsv);
        File.WriteAllText(marker, description);
        return files;
    }

    private static void WriteSplit(string folder, string sourceFolder, string split, string name, int count, string csvPath, string? scoreCsv)
    {
        (byte[] pixels, long[] labels, int loaded) = FashionMnist.Load(sourceFolder, split, count);
        string imageFolder = Path.Combine(folder, "images", name);
        Directory.CreateDirectory(imageFolder);
        var csv = new StringBuilder("ImagePath,Label\n");
        var score = new StringBuilder("ImagePath\n");
        for (int i = 0; i < loaded; i++)
        {
            string relative = $"images/{name}/{i:D5}.png";
            MLImage.CreateFromPixels(28, 28, MLPixelFormat.Gray8, pixels.AsSpan(i * 784, 784)).Save(Path.Combine(folder, relative));
            csv.Append(CultureInfo.InvariantCulture, $"{relative},\"{FashionMnist.ClassNames[(int)labels[i]]}\"\n");
            score.Append(CultureInfo.InvariantCulture, $"{relative}\n");
        }

        WriteAtomically(csvPath, csv.ToString());
        if (scoreCsv is not null)
        {
            WriteAtomically(scoreCsv, score.ToString());
        }
    }

    private static void WriteAtomically(string path, string text)
    {
        string temporary = path + ".tmp";
        File.WriteAllText(temporary, text);
        File.Move(temporary, path, overwrite: true);
    }
}
