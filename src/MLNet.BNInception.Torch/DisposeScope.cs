namespace MLNet.BNInception.Torch;

/// <summary>
/// Owns every tensor created on this thread while it is the innermost open scope, and disposes
/// those still owned when it is disposed. A tensor that must outlive the scope is moved out with
/// <see cref="Tensor.MoveToOuterDisposeScope"/> or <see cref="Tensor.DetachFromDisposeScope"/>.
/// Scopes nest, belong to the thread that opened them, and are opened with
/// <see cref="torch.NewDisposeScope"/>.
/// </summary>
public sealed class DisposeScope : IDisposable
{
    [ThreadStatic]
    private static DisposeScope? t_current;

    private readonly HashSet<Tensor> _owned = new(ReferenceEqualityComparer.Instance);
    private readonly int _threadId = Environment.CurrentManagedThreadId;
    private bool _disposed;

    internal DisposeScope()
    {
        Outer = t_current;
        t_current = this;
    }

    /// <summary>The innermost open scope of this thread, if any.</summary>
    internal static DisposeScope? Current => t_current;

    /// <summary>The scope that was innermost when this one opened.</summary>
    internal DisposeScope? Outer { get; }

    /// <summary>How many tensors this scope owns now.</summary>
    public int Count => _owned.Count;

    internal void Attach(Tensor tensor)
    {
        _owned.Add(tensor);
        tensor.OwningScope = this;
    }

    internal void Forget(Tensor tensor) => _owned.Remove(tensor);

    /// <summary>Disposes every tensor the scope still owns and closes the scope.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        if (Environment.CurrentManagedThreadId != _threadId)
        {
            throw new InvalidOperationException("A DisposeScope must be disposed on the thread that opened it.");
        }

        // Scopes opened inside this one and left open are closed first, so ownership never dangles.
        while (t_current is not null && t_current != this)
        {
            t_current.Dispose();
        }

        t_current = Outer;
        _disposed = true;
        foreach (Tensor tensor in _owned.ToArray())
        {
            tensor.OwningScope = null;
            tensor.Dispose();
        }

        _owned.Clear();
    }
}
