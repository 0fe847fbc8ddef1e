#include "seer/pth.h"

#include <zip.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <variant>

#include "common/atomic_file.h"
#include "common/error.h"

namespace seer {
namespace {

using common::FormatError;
using common::Throw;

// ---- A restricted pickle machine ----------------------------------------------------------

struct Value;
using ValuePtr = std::shared_ptr<Value>;

struct Storage {
  DType dtype;
  std::string key;
  std::int64_t numel;
};

struct TensorRef {
  Storage storage;
  std::int64_t offset;
  std::vector<std::int64_t> shape, stride;
};

struct Global {
  std::string name;  // "module.name"
};

struct Value {
  std::variant<std::monostate, bool, std::int64_t, double, std::string, std::vector<ValuePtr>,
               std::vector<std::pair<ValuePtr, ValuePtr>>, Global, Storage, TensorRef>
      v;
  bool is_list = false;  // vector<ValuePtr> is a tuple unless this is set.
};

template <class T>
ValuePtr Make(T value) {
  auto p = std::make_shared<Value>();
  p->v = std::move(value);
  return p;
}

class Unpickler {
 public:
  Unpickler(const std::string& path, std::string_view data) : path_(path), data_(data) {}

  ValuePtr Run() {
    while (true) {
      const auto op = static_cast<std::uint8_t>(Byte());
      switch (op) {
        case 0x80:
          Byte();
          break;  // PROTO
        case 0x95:
          Bytes(8);
          break;  // FRAME
        case '.':
          return Pop();  // STOP
        case '}':
          Push(Make(std::vector<std::pair<ValuePtr, ValuePtr>>{}));
          break;     // EMPTY_DICT
        case ']': {  // EMPTY_LIST
          auto list = Make(std::vector<ValuePtr>{});
          list->is_list = true;
          Push(list);
          break;
        }
        case ')':
          Push(Make(std::vector<ValuePtr>{}));
          break;  // EMPTY_TUPLE
        case '(':
          marks_.push_back(stack_.size());
          break;  // MARK
        case 't':
          Push(Make(PopToMark()));
          break;  // TUPLE
        case 0x85:
        case 0x86:
        case 0x87: {  // TUPLE1..3
          std::vector<ValuePtr> items(op - 0x84);
          for (auto it = items.rbegin(); it != items.rend(); ++it) *it = Pop();
          Push(Make(std::move(items)));
          break;
        }
        case 'q':
          Memo(static_cast<std::uint8_t>(Byte()));
          break;  // BINPUT
        case 'r':
          Memo(Read<std::uint32_t>());
          break;  // LONG_BINPUT
        case 0x94:
          Memo(static_cast<std::uint32_t>(memo_.size()));
          break;  // MEMOIZE
        case 'h':
          Push(Recall(static_cast<std::uint8_t>(Byte())));
          break;  // BINGET
        case 'j':
          Push(Recall(Read<std::uint32_t>()));
          break;  // LONG_BINGET
        case 'X':
          Push(Make(std::string(Bytes(Read<std::uint32_t>()))));
          break;  // BINUNICODE
        case 0x8c:
          Push(Make(std::string(Bytes(static_cast<std::uint8_t>(Byte())))));
          break;  // SHORT_BINUNICODE
        case 0x8d:
          Push(Make(std::string(Bytes(Read<std::uint64_t>()))));
          break;  // BINUNICODE8
        case 'K':
          Push(Make(std::int64_t{static_cast<std::uint8_t>(Byte())}));
          break;  // BININT1
        case 'M':
          Push(Make(std::int64_t{Read<std::uint16_t>()}));
          break;  // BININT2
        case 'J':
          Push(Make(std::int64_t{Read<std::int32_t>()}));
          break;  // BININT
        case 0x8a:
          Push(Make(Long1()));
          break;  // LONG1
        case 'G':
          Push(Make(BinFloat()));
          break;  // BINFLOAT
        case 0x88:
          Push(Make(true));
          break;  // NEWTRUE
        case 0x89:
          Push(Make(false));
          break;  // NEWFALSE
        case 'N':
          Push(Make(std::monostate{}));
          break;     // NONE
        case 'c': {  // GLOBAL
          std::string module = Line(), name = Line();
          Push(MakeGlobal(module + "." + name));
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          const std::string name = String(Pop()), module = String(Pop());
          Push(MakeGlobal(module + "." + name));
          break;
        }
        case 'Q':
          Push(PersistentLoad(Pop()));
          break;     // BINPERSID
        case 'R': {  // REDUCE
          auto args = Pop();
          auto func = Pop();
          Push(Reduce(func, args));
          break;
        }
        case 'b': {  // BUILD: only the state dict's own attributes (_metadata), which are ignored.
          Pop();
          if (!std::holds_alternative<std::vector<std::pair<ValuePtr, ValuePtr>>>(Top()->v))
            Fail("BUILD on a non-dict");
          break;
        }
        case 's': {  // SETITEM
          auto value = Pop();
          auto key = Pop();
          Dict(Top()).emplace_back(key, value);
          break;
        }
        case 'u': {  // SETITEMS
          auto items = PopToMark();
          if (items.size() % 2 != 0) Fail("SETITEMS with an odd number of items");
          auto& dict = Dict(Top());
          for (std::size_t i = 0; i < items.size(); i += 2)
            dict.emplace_back(items[i], items[i + 1]);
          break;
        }
        case 'a': {  // APPEND
          auto value = Pop();
          List(Top()).push_back(value);
          break;
        }
        case 'e': {  // APPENDS
          auto items = PopToMark();
          auto& list = List(Top());
          list.insert(list.end(), items.begin(), items.end());
          break;
        }
        default:
          Fail(fmt::format("unsupported pickle opcode 0x{:02x}", op));
      }
    }
  }

 private:
  [[noreturn]] void Fail(const std::string& problem) const {
    Throw<FormatError>(
        "'{}': data.pkl: {} at byte {}; only plain state dicts of tensors can be read", path_,
        problem, pos_);
  }
  char Byte() {
    if (pos_ >= data_.size()) Fail("the pickle ends early");
    return data_[pos_++];
  }
  std::string_view Bytes(std::uint64_t n) {
    if (n > data_.size() - pos_) Fail("a length runs past the end of the pickle");
    auto out = data_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  template <class T>
  T Read() {
    T v;
    std::memcpy(&v, Bytes(sizeof(T)).data(), sizeof(T));
    return v;
  }
  std::string Line() {
    const auto end = data_.find('\n', pos_);
    if (end == std::string_view::npos) Fail("a GLOBAL name is not terminated");
    std::string line(data_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return line;
  }
  std::int64_t Long1() {
    const auto n = static_cast<std::uint8_t>(Byte());
    if (n > 8) Fail("an integer wider than 64 bits");
    auto bytes = Bytes(n);
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i)
      v |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(bytes[i])) << (8 * i);
    if (n > 0 && n < 8 && (static_cast<std::uint8_t>(bytes[n - 1]) & 0x80))
      v |= ~std::uint64_t{0} << (8 * n);
    return static_cast<std::int64_t>(v);
  }
  double BinFloat() {
    auto bytes = Bytes(8);
    std::uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) bits = (bits << 8) | static_cast<std::uint8_t>(bytes[i]);
    double d;
    std::memcpy(&d, &bits, 8);
    return d;
  }
  void Push(ValuePtr v) {
    if (stack_.size() > (1u << 20)) Fail("the pickle stack grows without bound");
    stack_.push_back(std::move(v));
  }
  ValuePtr Pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back()))
      Fail("stack underflow");
    auto v = stack_.back();
    stack_.pop_back();
    return v;
  }
  ValuePtr Top() {
    if (stack_.empty()) Fail("stack underflow");
    return stack_.back();
  }
  std::vector<ValuePtr> PopToMark() {
    if (marks_.empty()) Fail("no MARK");
    const std::size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<ValuePtr> items(stack_.begin() + static_cast<long>(mark), stack_.end());
    stack_.resize(mark);
    return items;
  }
  void Memo(std::uint32_t index) { memo_[index] = Top(); }
  ValuePtr Recall(std::uint32_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) Fail("a memo entry is used before it is set");
    return it->second;
  }
  std::string String(const ValuePtr& v) {
    if (const auto* s = std::get_if<std::string>(&v->v)) return *s;
    Fail("expected a string");
  }
  std::int64_t Int(const ValuePtr& v) {
    if (const auto* i = std::get_if<std::int64_t>(&v->v)) return *i;
    Fail("expected an integer");
  }
  std::vector<ValuePtr>& Tuple(const ValuePtr& v) {
    if (auto* t = std::get_if<std::vector<ValuePtr>>(&v->v)) return *t;
    Fail("expected a tuple");
  }
  std::vector<ValuePtr>& List(const ValuePtr& v) {
    auto* t = std::get_if<std::vector<ValuePtr>>(&v->v);
    if (t == nullptr || !v->is_list) Fail("APPEND to a non-list");
    return *t;
  }
  std::vector<std::pair<ValuePtr, ValuePtr>>& Dict(const ValuePtr& v) {
    if (auto* d = std::get_if<std::vector<std::pair<ValuePtr, ValuePtr>>>(&v->v)) return *d;
    Fail("SETITEM on a non-dict");
  }
  std::vector<std::int64_t> Ints(const ValuePtr& v) {
    std::vector<std::int64_t> out;
    for (const auto& item : Tuple(v)) out.push_back(Int(item));
    return out;
  }

  ValuePtr MakeGlobal(const std::string& name) {
    static const char* kAllowed[] = {"collections.OrderedDict", "torch._utils._rebuild_tensor_v2",
                                     "torch.FloatStorage", "torch.BFloat16Storage",
                                     "torch.HalfStorage"};
    for (const char* allowed : kAllowed) {
      if (name == allowed) return Make(Global{name});
    }
    Throw<FormatError>(
        "'{}': data.pkl refers to '{}'; refusing to load it (a gate state dict holds only tensors)",
        path_, name);
  }

  ValuePtr PersistentLoad(const ValuePtr& pid) {
    auto& t = Tuple(pid);
    if (t.size() != 5 || String(t[0]) != "storage") Fail("a persistent id that is not a storage");
    const auto* type = std::get_if<Global>(&t[1]->v);
    if (type == nullptr) Fail("a storage without a storage type");
    DType dtype = DType::kF32;
    if (type->name == "torch.BFloat16Storage")
      dtype = DType::kBF16;
    else if (type->name == "torch.HalfStorage")
      dtype = DType::kF16;
    else if (type->name != "torch.FloatStorage")
      Fail("storage type " + type->name);
    const std::int64_t numel = Int(t[4]);
    if (numel < 0) Fail("a negative storage size");
    return Make(Storage{dtype, String(t[2]), numel});
  }

  ValuePtr Reduce(const ValuePtr& func, const ValuePtr& args) {
    const auto* global = std::get_if<Global>(&func->v);
    if (global == nullptr) Fail("REDUCE of something that is not an allowed global");
    auto& a = Tuple(args);
    if (global->name == "collections.OrderedDict") {
      if (!a.empty()) Fail("OrderedDict with arguments");
      return Make(std::vector<std::pair<ValuePtr, ValuePtr>>{});
    }
    if (global->name == "torch._utils._rebuild_tensor_v2") {
      if (a.size() < 4) Fail("_rebuild_tensor_v2 with too few arguments");
      const auto* storage = std::get_if<Storage>(&a[0]->v);
      if (storage == nullptr) Fail("_rebuild_tensor_v2 without a storage");
      TensorRef t{*storage, Int(a[1]), Ints(a[2]), Ints(a[3])};
      if (t.shape.size() != t.stride.size()) Fail("a tensor whose shape and stride differ in rank");
      return Make(std::move(t));
    }
    Fail("REDUCE of " + global->name);
  }

  std::string path_;
  std::string_view data_;
  std::size_t pos_ = 0;
  std::vector<ValuePtr> stack_;
  std::vector<std::size_t> marks_;
  std::map<std::uint32_t, ValuePtr> memo_;
};

// ---- Zip access -------------------------------------------------------------------------

class ZipReader {
 public:
  explicit ZipReader(const std::string& path) : path_(path) {
    int error = 0;
    zip_ = zip_open(path.c_str(), ZIP_RDONLY, &error);
    if (zip_ == nullptr) {
      zip_error_t ze;
      zip_error_init_with_code(&ze, error);
      const std::string message = zip_error_strerror(&ze);
      zip_error_fini(&ze);
      if (!std::filesystem::exists(path))
        Throw<common::IoError>("cannot open '{}': no such file", path);
      Throw<FormatError>("'{}' is not a PyTorch checkpoint (zip archive): {}", path, message);
    }
  }
  ~ZipReader() { zip_discard(zip_); }

  // Returns the name of the entry ending in `suffix`, or "".
  std::string FindSuffix(const std::string& suffix) const {
    const zip_int64_t n = zip_get_num_entries(zip_, 0);
    for (zip_int64_t i = 0; i < n; ++i) {
      const std::string name = zip_get_name(zip_, static_cast<zip_uint64_t>(i), 0);
      if (name.size() >= suffix.size() &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        return name;
      }
    }
    return "";
  }

  // Reads a whole entry, which must be exactly `expected_size` bytes when that is given.
  std::string Read(const std::string& name, std::int64_t expected_size = -1) const {
    zip_stat_t st;
    if (zip_stat(zip_, name.c_str(), 0, &st) != 0)
      Throw<FormatError>("'{}': entry '{}' is missing", path_, name);
    if (expected_size >= 0 && st.size != static_cast<zip_uint64_t>(expected_size)) {
      Throw<FormatError>("'{}': entry '{}' holds {} bytes but its tensor needs {}", path_, name,
                         st.size, expected_size);
    }
    if (st.size > (std::uint64_t{1} << 36))
      Throw<FormatError>("'{}': entry '{}' is implausibly large", path_, name);
    std::string out(st.size, '\0');
    zip_file_t* f = zip_fopen(zip_, name.c_str(), 0);
    if (f == nullptr) Throw<FormatError>("'{}': cannot open entry '{}'", path_, name);
    const zip_int64_t got = zip_fread(f, out.data(), st.size);
    zip_fclose(f);
    if (got < 0 || static_cast<zip_uint64_t>(got) != st.size)
      Throw<FormatError>("'{}': entry '{}' is corrupt", path_, name);
    return out;
  }

 private:
  std::string path_;
  zip_t* zip_ = nullptr;
};

// ---- Pickle writing -----------------------------------------------------------------------

class PickleWriter {
 public:
  void Op(char op) { out_.push_back(op); }
  void Global(const std::string& module, const std::string& name) {
    out_ += "c" + module + "\n" + name + "\n";
  }
  void Unicode(const std::string& s) {
    Op('X');
    const auto n = static_cast<std::uint32_t>(s.size());
    out_.append(reinterpret_cast<const char*>(&n), 4);
    out_ += s;
  }
  void Int(std::int64_t v) {
    if (v >= 0 && v < (1LL << 31)) {
      Op('J');
      const auto x = static_cast<std::int32_t>(v);
      out_.append(reinterpret_cast<const char*>(&x), 4);
    } else {
      out_ += "\x8a\x08";
      out_.append(reinterpret_cast<const char*>(&v), 8);
    }
  }
  const std::string& bytes() const { return out_; }

 private:
  std::string out_;
};

std::size_t ElementBytes(DType dtype) { return dtype == DType::kF32 ? 4 : 2; }

}  // namespace

std::vector<PthTensor> ReadPthStateDict(const std::string& path) {
  ZipReader zip(path);
  const std::string pickle_name = zip.FindSuffix("data.pkl");
  if (pickle_name.empty())
    Throw<FormatError>("'{}' is a zip archive without data.pkl: not a PyTorch checkpoint", path);
  const std::string prefix =
      pickle_name.substr(0, pickle_name.size() - std::string("data.pkl").size());
  const std::string pickle = zip.Read(pickle_name);
  const ValuePtr root = Unpickler(path, pickle).Run();
  const auto* dict = std::get_if<std::vector<std::pair<ValuePtr, ValuePtr>>>(&root->v);
  if (dict == nullptr) Throw<FormatError>("'{}': data.pkl does not hold a state dict", path);

  std::vector<PthTensor> out;
  for (const auto& [key, value] : *dict) {
    const auto* name = std::get_if<std::string>(&key->v);
    const auto* t = std::get_if<TensorRef>(&value->v);
    if (name == nullptr || t == nullptr)
      Throw<FormatError>("'{}': the state dict holds something other than named tensors", path);
    PthTensor tensor{*name, t->storage.dtype, t->shape, {}};
    std::int64_t elements = 1;
    for (auto d : t->shape) {
      if (d < 0 || (d > 0 && elements > (1LL << 40) / d))
        Throw<FormatError>("'{}': tensor '{}' has an impossible shape", path, *name);
      elements *= d;
    }
    // Every element's index must fall inside the storage.
    std::int64_t last = t->offset;
    for (std::size_t d = 0; d < t->shape.size(); ++d) {
      if (t->stride[d] < 0)
        Throw<FormatError>("'{}': tensor '{}' has a negative stride", path, *name);
      if (t->shape[d] > 0) last += (t->shape[d] - 1) * t->stride[d];
    }
    if (t->offset < 0 || (elements > 0 && last >= t->storage.numel)) {
      Throw<FormatError>("'{}': tensor '{}' reaches past its storage of {} elements", path, *name,
                         t->storage.numel);
    }
    const std::size_t element_bytes = ElementBytes(t->storage.dtype);
    const std::string data = zip.Read(prefix + "data/" + t->storage.key,
                                      t->storage.numel * static_cast<std::int64_t>(element_bytes));
    std::vector<float> storage(static_cast<std::size_t>(t->storage.numel));
    DequantizeToF32(t->storage.dtype, reinterpret_cast<const std::uint8_t*>(data.data()),
                    storage.size(), storage.data());
    tensor.values.resize(static_cast<std::size_t>(elements));
    std::vector<std::int64_t> index(t->shape.size(), 0);
    for (std::int64_t e = 0; e < elements; ++e) {
      std::int64_t at = t->offset;
      for (std::size_t d = 0; d < index.size(); ++d) at += index[d] * t->stride[d];
      tensor.values[static_cast<std::size_t>(e)] = storage[static_cast<std::size_t>(at)];
      for (std::size_t d = index.size(); d-- > 0;) {
        if (++index[d] < t->shape[d]) break;
        index[d] = 0;
      }
    }
    out.push_back(std::move(tensor));
  }
  return out;
}

void WritePthStateDict(const std::string& path, const std::vector<PthTensor>& tensors) {
  PickleWriter p;
  p.Op('\x80');
  p.Op('\x02');
  p.Global("collections", "OrderedDict");
  p.Op(')');
  p.Op('R');
  p.Op('(');
  std::vector<std::string> blobs;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const PthTensor& t = tensors[i];
    if (t.dtype != DType::kF32 && t.dtype != DType::kBF16) {
      Throw<common::InvalidArgument>("cannot write tensor '{}' as {}: F32 or BF16 only", t.name,
                                     DTypeName(t.dtype));
    }
    p.Unicode(t.name);
    p.Global("torch._utils", "_rebuild_tensor_v2");
    p.Op('(');
    p.Op('(');
    p.Unicode("storage");
    p.Global("torch", t.dtype == DType::kF32 ? "FloatStorage" : "BFloat16Storage");
    p.Unicode(std::to_string(i));
    p.Unicode("cpu");
    p.Int(static_cast<std::int64_t>(t.values.size()));
    p.Op('t');
    p.Op('Q');
    p.Int(0);
    p.Op('(');
    for (auto d : t.shape) p.Int(d);
    p.Op('t');
    p.Op('(');
    std::int64_t stride = 1;
    std::vector<std::int64_t> strides(t.shape.size());
    for (std::size_t d = t.shape.size(); d-- > 0;) {
      strides[d] = stride;
      stride *= t.shape[d];
    }
    for (auto s : strides) p.Int(s);
    p.Op('t');
    p.Op('\x89');
    p.Global("collections", "OrderedDict");
    p.Op(')');
    p.Op('R');
    p.Op('t');
    p.Op('R');
    std::string blob;
    if (t.dtype == DType::kF32) {
      blob.assign(reinterpret_cast<const char*>(t.values.data()), t.values.size() * 4);
    } else {
      for (float v : t.values) {
        const std::uint16_t h = F32ToBF16(v);
        blob.append(reinterpret_cast<const char*>(&h), 2);
      }
    }
    blobs.push_back(std::move(blob));
  }
  p.Op('u');
  p.Op('.');

  const std::string archive = std::filesystem::path(path).stem().string();
  common::WriteAtomically(path, [&](const std::string& temp) {
    int error = 0;
    zip_t* zip = zip_open(temp.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
    if (zip == nullptr) Throw<common::IoError>("cannot create '{}'", temp);
    auto add = [&](const std::string& name, const std::string& bytes) {
      zip_source_t* src = zip_source_buffer(zip, bytes.data(), bytes.size(), 0);
      const zip_int64_t index =
          src == nullptr ? -1 : zip_file_add(zip, name.c_str(), src, ZIP_FL_ENC_UTF_8);
      if (index < 0) {
        if (src != nullptr) zip_source_free(src);
        zip_discard(zip);
        Throw<common::IoError>("cannot add '{}' to '{}'", name, temp);
      }
      zip_set_file_compression(zip, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0);
    };
    const std::string version = "3\n", byteorder = "little";
    add(archive + "/data.pkl", p.bytes());
    add(archive + "/byteorder", byteorder);
    for (std::size_t i = 0; i < blobs.size(); ++i)
      add(archive + "/data/" + std::to_string(i), blobs[i]);
    add(archive + "/version", version);
    if (zip_close(zip) != 0) {
      const std::string message = zip_strerror(zip);
      zip_discard(zip);
      Throw<common::IoError>("cannot write '{}': {}", temp, message);
    }
  });
}

}  // namespace seer
