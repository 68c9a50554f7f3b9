// Recursive-descent parser for the .net language (grammar in docs/language.md).
#include "lang/parser.h"

#include <algorithm>
#include <fmt/format.h>
#include <sstream>

#include "support/files.h"

namespace netc {
namespace {

constexpr int kMaxDepth = 200;  // nesting bound: deep input is an error, not a stack overflow

class Parser {
 public:
  Parser(const SourceRef& src, std::vector<Token> toks) : src_(src), t_(std::move(toks)) {}

  Module parseModule() {
    Module m;
    m.source = src_;
    skipNewlines();
    while (peek().kind != Tok::End) {
      m.stmts.push_back(statement());
      skipNewlines();
    }
    return m;
  }

 private:
  const Token& peek(int k = 0) const { return t_[std::min(pos_ + k, t_.size() - 1)]; }
  const Token& next() { const Token& t = t_[pos_]; if (pos_ + 1 < t_.size()) ++pos_; return t; }
  bool accept(Tok k) { if (peek().kind == k) { next(); return true; } return false; }
  bool isWord(std::string_view w, int k = 0) const { return peek(k).kind == Tok::Ident && peek(k).text == w; }

  [[noreturn]] void unexpected(std::string_view expected) {
    const Token& t = peek();
    std::string found = t.kind == Tok::Ident || t.kind == Tok::Number ? fmt::format("'{}'", t.text) : tokName(t.kind);
    if (t.kind == Tok::String) found = fmt::format("string \"{}\"", t.text);
    // Inside ( ) and [ ] line breaks are not tokens, so a missing ')' shows up on a later line: point at the
    // end of the line where it is missing instead.
    if (pos_ > 0) {
      const Token& prev = t_[pos_ - 1];
      if (prev.kind != Tok::Newline && t.loc.line > prev.loc.line) {
        // A --set value is one line of its own: what follows it is not the user's text.
        if (src_->commandLine(prev.loc.line))
          fail(src_, SrcLoc{prev.loc.line, prev.loc.col + prev.loc.len, 1},
               fmt::format("expected {} before the end of the value", expected));
        fail(src_, SrcLoc{prev.loc.line, prev.loc.col + prev.loc.len, 1},
             fmt::format("expected {} before the end of the line, found {} on line {}", expected, found, t.loc.line));
      }
    }
    // At the end of the file, point just after the last real token rather than at an empty last line.
    if (t.kind == Tok::End)
      for (size_t i = pos_; i-- > 0;)
        if (t_[i].kind != Tok::Newline && t_[i].kind != Tok::End)
          fail(src_, SrcLoc{t_[i].loc.line, t_[i].loc.col + t_[i].loc.len, 1},
               fmt::format("expected {}, found {}", expected, found));
    fail(src_, t.loc, fmt::format("expected {}, found {}", expected, found));
  }
  const Token& expect(Tok k, std::string_view what = {}) {
    if (peek().kind != k) unexpected(what.empty() ? std::string_view(tokName(k)) : what);
    return next();
  }
  const Token& expectIdent(std::string_view what) {
    if (peek().kind != Tok::Ident) unexpected(what);
    return next();
  }
  void skipNewlines() { while (peek().kind == Tok::Newline) next(); }
  // The words after a param's or state's initialiser, in any order: `frozen` / `trainable` (params) and
  // `global` (drawn from the train section's second stream, `global_seed`).
  void declarationMarkers(Stmt& s, bool param) {
    std::vector<std::string> words = {"global"};
    if (param) words = {"frozen", "trainable", "global"};
    while (peek().kind == Tok::Ident) {
      const Token& w = peek();
      if (param && w.text == "frozen") s.trainable = false;
      else if (param && w.text == "trainable") s.trainable = true;
      else if (w.text == "global") s.global = true;
      else
        fail(src_, w.loc, fmt::format("expected {} or the end of the line after the initialiser, found '{}'{}",
                                      param ? "'frozen', 'trainable', 'global'" : "'global'", w.text,
                                      didYouMean(w.text, words)));
      next();
    }
  }
  void endOfStatement() {
    if (peek().kind != Tok::Newline && peek().kind != Tok::End) unexpected("end of line");
    skipNewlines();
  }

  Stmt statement() {
    std::vector<Annotation> annotations;
    while (peek().kind == Tok::At) {
      annotations.push_back(annotation());
      skipNewlines();
    }
    const Token& first = peek();
    if (first.kind != Tok::Ident) unexpected("a statement (const, data, input, param, state, update, minimize, train, sample, block, for, return or NAME = ...)");
    Stmt s;
    s.loc = first.loc;
    bool isDecl = peek(1).kind != Tok::Assign;  // `const = 3` is an assignment to a value named const
    if (isDecl && first.text == "const") {
      next();
      s.kind = Stmt::Const;
      nameInto(s, "a constant name");
      expect(Tok::Assign, "'=' after the constant name");
      s.value = expr();
    } else if (isDecl && first.text == "data") {
      next();
      s.kind = Stmt::Data;
      const Token& path = expect(Tok::String, "the dataset path as a string, e.g. \"names.txt\"");
      s.name = path.text;
      s.nameLoc = path.loc;
      s.entries = block();
    } else if (isDecl && first.text == "input") {
      next();
      s.kind = Stmt::Input;
      nameInto(s, "an input name");
      expect(Tok::Colon, "':' and a type, e.g. `input x : int[B, T]`");
      const Token& ty = expectIdent("a type ('int' or 'float')");
      if (ty.text != "int" && ty.text != "float")
        fail(src_, ty.loc, fmt::format("expected a type ('int' or 'float'), found '{}'", ty.text));
      s.dtype = ty.text;
      s.dims = shapeList();
    } else if (isDecl && first.text == "param") {
      next();
      s.kind = Stmt::Param;
      nameInto(s, "a parameter name");
      expect(Tok::Colon, "':' and a shape, e.g. `param W : [E, H] = randn`");
      s.dims = shapeList();
      expect(Tok::Assign, "'=' and an initialiser, e.g. `= randn * 0.01`");
      s.value = expr();
      declarationMarkers(s, true);
    } else if (isDecl && first.text == "state") {
      // Non-trainable values the step carries over: running statistics, counters.
      next();
      s.kind = Stmt::State;
      nameInto(s, "a state name");
      expect(Tok::Colon, "':' and a shape, e.g. `state running_mean : [H] = zeros`");
      s.dims = shapeList();
      expect(Tok::Assign, "'=' and an initialiser, e.g. `= zeros`");
      s.value = expr();
      declarationMarkers(s, false);
    } else if (isDecl && first.text == "update") {
      // `update S = expr`: the value S holds in the next step (no gradient flows through it).
      next();
      s.kind = Stmt::Update;
      nameInto(s, "the name of the state to update");
      expect(Tok::Assign, "'=' and the state's next value, e.g. `update m = 0.9 * m + 0.1 * mean(h, axis=0)`");
      s.value = expr();
    } else if (isDecl && first.text == "minimize") {
      // `minimize loss`, or any scalar expression: `minimize cross_entropy(logits, y) + 1e-4 * sum(W * W)`.
      next();
      s.kind = Stmt::Minimize;
      s.nameLoc = peek().loc;
      s.value = expr();
      if (s.value->kind == Expr::Name) s.name = s.value->name;
    } else if (isDecl && first.text == "for" && peek(1).kind == Tok::Ident) {
      // `for t in 0..T { statements }`: unrolled by the lowering, t a constant in each copy of the body.
      next();
      s.kind = Stmt::For;
      nameInto(s, "the loop variable");
      if (!isWord("in")) unexpected("'in' after the loop variable, e.g. `for t in 0..T {`");
      next();
      s.value = expr();
      expect(Tok::DotDot, "'..' in the range, e.g. `for t in 0..T {`");
      s.rangeEnd = expr();
      int openLine = expect(Tok::LBrace, "'{' opening the loop body").loc.line;
      skipNewlines();
      while (peek().kind != Tok::RBrace) {
        if (peek().kind == Tok::End) unexpected(fmt::format("'}}' closing the loop opened on line {}", openLine));
        s.body.push_back(statement());
      }
      s.endLoc = next().loc;
    } else if (isDecl && first.text == "block" && peek(1).kind == Tok::Ident) {
      // `block Layer(x, fan_in, fan_out) { statements; return expr }`: a layer written once, used several times.
      next();
      s.kind = Stmt::Block;
      nameInto(s, "the block's name");
      expect(Tok::LParen, "'(' and the block's arguments, e.g. `block Layer(x, fan_in, fan_out) {`");
      if (peek().kind != Tok::RParen) {
        do {
          const Token& a = expectIdent("an argument name");
          s.arguments.emplace_back(a.text, a.loc);
        } while (accept(Tok::Comma));
      }
      expect(Tok::RParen, "')' or ',' in the block's arguments");
      int openLine = expect(Tok::LBrace, "'{' opening the block's body").loc.line;
      skipNewlines();
      while (peek().kind != Tok::RBrace) {
        if (peek().kind == Tok::End) unexpected(fmt::format("'}}' closing the block opened on line {}", openLine));
        s.body.push_back(statement());
      }
      s.endLoc = next().loc;
    } else if (isDecl && first.text == "return") {
      next();
      s.kind = Stmt::Return;
      s.nameLoc = peek().loc;
      s.value = expr();
    } else if (isDecl && (first.text == "train" || first.text == "sample")) {
      next();
      s.kind = Stmt::Section;
      s.name = first.text;
      s.nameLoc = first.loc;
      s.entries = block();
    } else {
      s.kind = Stmt::Assign;
      nameInto(s, "a value name");
      if (peek().kind == Tok::LBrack) {  // hs[:, t] = h
        next();
        s.targetIndex = indexItems();
        expect(Tok::RBrack, "']' closing the index");
      }
      if (peek().kind != Tok::Assign) {
        if (peek().kind == Tok::Ident || peek().kind == Tok::String)
          fail(src_, first.loc, fmt::format("unknown statement '{}': expected const, data, input, param, state, update, minimize, train, sample or NAME = ...{}",
                                            first.text, didYouMean(first.text, {"const", "data", "input", "param", "state", "update", "minimize", "train", "sample"})));
        unexpected("'=' after the value name");
      }
      next();
      s.value = expr();
    }
    if (!annotations.empty() && s.kind != Stmt::Assign)
      fail(src_, annotations.front().loc, "an annotation must stand before an assignment `NAME = ...`");
    s.annotations = std::move(annotations);
    endOfStatement();
    return s;
  }

  void nameInto(Stmt& s, std::string_view what) {
    const Token& n = expectIdent(what);
    s.name = n.text;
    s.nameLoc = n.loc;
  }

  Annotation annotation() {
    expect(Tok::At);
    const Token& n = expectIdent("an annotation name after '@', e.g. @probe");
    Annotation a{n.text, n.loc, {}};
    if (accept(Tok::LParen)) {
      if (peek().kind != Tok::RParen) {
        do {
          const Token& arg = expectIdent("an annotation argument name");
          a.args.emplace_back(arg.text, arg.loc);
        } while (accept(Tok::Comma));
      }
      expect(Tok::RParen, "')' or ',' in the annotation's argument list");
    }
    if (peek().kind != Tok::Newline) unexpected("end of line after the annotation");
    return a;
  }

  std::vector<ExprPtr> shapeList() {
    expect(Tok::LBrack, "'[' opening a shape, e.g. [B, T]");
    std::vector<ExprPtr> dims;
    if (peek().kind != Tok::RBrack) {
      do dims.push_back(expr());
      while (accept(Tok::Comma));
    }
    expect(Tok::RBrack, "']' or ',' in the shape");
    return dims;
  }

  std::vector<SectionEntry> block() {
    int openLine = expect(Tok::LBrace, "'{' opening the block").loc.line;
    skipNewlines();
    std::vector<SectionEntry> entries;
    while (peek().kind != Tok::RBrace) {
      if (peek().kind == Tok::End) unexpected(fmt::format("'}}' closing the block opened on line {}", openLine));
      const Token& key = expectIdent("a setting name, e.g. `steps = 1000`, or '}'");
      SectionEntry e{key.text, key.loc, {}};
      expect(Tok::Assign, "'=' after the setting name");
      do {
        SectionItem item;
        item.value = expr();
        if (isWord("until")) next(), item.until = expr();
        e.items.push_back(std::move(item));
      } while (accept(Tok::Comma));
      entries.push_back(std::move(e));
      if (peek().kind == Tok::RBrace) break;
      if (peek().kind != Tok::Newline) unexpected("end of line after the setting");
      skipNewlines();
    }
    expect(Tok::RBrace);
    return entries;
  }

  // Precedence, loosest first: + -   then * / @   then unary -   then **   then postfix [ ] and calls.
  ExprPtr expr() {
    ExprPtr lhs = term();
    while (peek().kind == Tok::Plus || peek().kind == Tok::Minus) {
      const Token& op = next();
      lhs = binary(op, std::move(lhs), term());
    }
    return lhs;
  }
  ExprPtr term() {
    ExprPtr lhs = unary();
    while (peek().kind == Tok::Star || peek().kind == Tok::Slash || peek().kind == Tok::MatMul) {
      const Token& op = next();
      lhs = binary(op, std::move(lhs), unary());
    }
    return lhs;
  }
  ExprPtr unary() {
    if (peek().kind == Tok::Minus || peek().kind == Tok::Plus) {
      DepthGuard g(this);
      const Token& op = next();
      auto e = std::make_unique<Expr>();
      e->kind = Expr::Unary;
      e->op = op.kind;
      e->loc = op.loc;
      e->args.push_back(unary());
      e->span = joinSpans(spanOf(op.loc), e->args[0]->span);
      return measured(std::move(e));
    }
    return power();
  }
  ExprPtr power() {
    ExprPtr base = postfix();
    if (peek().kind == Tok::Power) {
      DepthGuard g(this);
      const Token& op = next();
      return binary(op, std::move(base), unary());  // right-associative, binds -x tighter: 2**-1
    }
    return base;
  }
  // Sets e's height from its operands. Long chains (a + a + ... + a, x[i][i]...) are deep trees without
  // deep parser recursion; bounding the height keeps lowering's recursion bounded too.
  ExprPtr measured(ExprPtr e) {
    for (const auto& a : e->args) e->depth = std::max(e->depth, a->depth + 1);
    if (e->depth > kMaxDepth)
      fail(src_, e->loc, fmt::format("expression nested more than {} levels deep: split it over several assignments",
                                     kMaxDepth));
    return e;
  }
  ExprPtr binary(const Token& op, ExprPtr l, ExprPtr r) {
    auto e = std::make_unique<Expr>();
    e->kind = Expr::Binary;
    e->op = op.kind;
    e->loc = op.loc;
    e->span = joinSpans(l->span, r->span);
    e->args.push_back(std::move(l));
    e->args.push_back(std::move(r));
    return measured(std::move(e));
  }
  // The items of x[...]: expressions, or slices `a:b`, `:b`, `a:`, `:`, separated by commas.
  std::vector<ExprPtr> indexItems() {
    std::vector<ExprPtr> items;
    do {
      {
        ExprPtr start;
        SrcLoc loc = peek().loc;
        if (peek().kind != Tok::Colon) start = expr();
        if (peek().kind != Tok::Colon) {
          items.push_back(std::move(start));
          continue;
        }
        const Token& colon = next();
        auto sl = std::make_unique<Expr>();
        sl->kind = Expr::Slice;
        sl->loc = start ? loc : colon.loc;
        sl->span = start ? joinSpans(start->span, spanOf(colon.loc)) : spanOf(colon.loc);
        if (start) sl->args.push_back(std::move(start)), sl->keywords.push_back("start");
        if (peek().kind != Tok::Comma && peek().kind != Tok::RBrack) {
          sl->args.push_back(expr());
          sl->keywords.push_back("stop");
          sl->span = joinSpans(sl->span, sl->args.back()->span);
        }
        items.push_back(measured(std::move(sl)));
      }
    } while (accept(Tok::Comma));
    return items;
  }

  ExprPtr postfix() {
    ExprPtr e = primary();
    while (peek().kind == Tok::LBrack) {
      const Token& open = next();
      auto idx = std::make_unique<Expr>();
      idx->kind = Expr::Index;
      idx->loc = open.loc;
      idx->args.push_back(std::move(e));
      for (auto& item : indexItems()) idx->args.push_back(std::move(item));
      const Token& close = expect(Tok::RBrack, "']' closing the index");
      idx->span = joinSpans(idx->args[0]->span, spanOf(close.loc));
      e = measured(std::move(idx));
    }
    return e;
  }
  ExprPtr primary() {
    const Token& t = peek();
    auto e = std::make_unique<Expr>();
    e->loc = t.loc;
    e->span = spanOf(t.loc);
    switch (t.kind) {
      case Tok::Number:
        next();
        e->kind = Expr::Number;
        e->number = t.number;
        e->isInteger = t.isInteger;
        e->whole = t.whole;
        return e;
      case Tok::String:
        next();
        e->kind = Expr::String;
        e->name = t.text;
        return e;
      case Tok::LParen: {
        DepthGuard g(this);  // one level per ( [ or call; each costs a few frames of recursion
        const Token& open = next();
        ExprPtr inner = expr();
        if (peek().kind == Tok::Comma) {
          // A tuple (0, 1) or (0,), as torch writes axes: a list, like [0, 1].
          e->kind = Expr::List;
          e->loc = open.loc;
          e->args.push_back(std::move(inner));
          while (accept(Tok::Comma) && peek().kind != Tok::RParen) e->args.push_back(expr());
          e->span = joinSpans(spanOf(open.loc), spanOf(expect(Tok::RParen, "')' or ',' in the tuple").loc));
          return measured(std::move(e));
        }
        const Token& close = expect(Tok::RParen, "')' closing the parenthesis");
        inner->span = joinSpans(spanOf(open.loc), spanOf(close.loc));
        return inner;
      }
      case Tok::LBrack: {
        DepthGuard g(this);
        next();
        e->kind = Expr::List;
        if (peek().kind != Tok::RBrack) {
          do e->args.push_back(expr());
          while (accept(Tok::Comma));
        }
        e->span = joinSpans(e->span, spanOf(expect(Tok::RBrack, "']' or ',' in the list").loc));
        return measured(std::move(e));
      }
      case Tok::Ident: {
        next();
        e->name = t.text;
        if (peek().kind != Tok::LParen) {
          e->kind = Expr::Name;
          return e;
        }
        DepthGuard g(this);
        next();
        e->kind = Expr::Call;
        if (peek().kind != Tok::RParen) {
          do {
            std::string kw;
            SrcLoc kwLoc;
            if (peek().kind == Tok::Ident && peek(1).kind == Tok::Assign) {
              kw = peek().text, kwLoc = peek().loc;
              // Every call refuses a keyword given twice: otherwise the last would silently win.
              for (size_t k = 0; k < e->keywords.size(); ++k)
                if (e->keywords[k] == kw)
                  fail(src_, kwLoc, fmt::format("keyword argument '{}' is given twice in the call to '{}' (first at "
                                                "line {}, column {})", kw, t.text, e->keywordLocs[k].line,
                                                e->keywordLocs[k].col));
              next(), next();
            }
            e->args.push_back(expr());
            e->keywords.push_back(kw);
            e->keywordLocs.push_back(kwLoc);
          } while (accept(Tok::Comma));
        }
        e->span = joinSpans(e->span, spanOf(expect(Tok::RParen, fmt::format("')' or ',' in the arguments of '{}'", t.text)).loc));
        if (isWord("as")) instancePath(*e);
        return measured(std::move(e));
      }
      default:
        unexpected("an expression (a number, a name, a call or '(')");
    }
  }

  // `as layers.(i).attn` after a block's call: parts joined by '.', each a name, a whole number or a
  // parenthesised constant expression; the first a name or an expression.
  void instancePath(Expr& call) {
    next();  // 'as'
    do {
      PathPart part;
      part.loc = peek().loc;
      if (peek().kind == Tok::Ident || (peek().kind == Tok::Number && peek().isInteger && !call.instancePath.empty())) {
        part.text = next().text;
      } else if (peek().kind == Tok::LParen) {
        next();
        part.computed = expr();
        part.loc = part.computed->loc;
        expect(Tok::RParen, "')' closing the path's part");
      } else {
        unexpected(call.instancePath.empty()
                       ? "the instance's path after 'as', a name such as `layers.0` or `layers.(i)`"
                       : "a part of the path after '.': a name, a whole number or (EXPR)");
      }
      call.instancePath.push_back(std::move(part));
    } while (accept(Tok::Dot));
    call.pathSpan = joinSpans(spanOf(call.instancePath.front().loc), spanOf(t_[pos_ - 1].loc));
  }

  struct DepthGuard {
    Parser* p;
    explicit DepthGuard(Parser* p) : p(p) {
      if (++p->depth_ > kMaxDepth) p->fail_depth();
    }
    ~DepthGuard() { --p->depth_; }
  };
  [[noreturn]] void fail_depth() {
    fail(src_, peek().loc, fmt::format("expression nested more than {} levels deep: split it over several assignments",
                                       kMaxDepth));
  }

  SourceRef src_;
  std::vector<Token> t_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Module parse(const SourceRef& src) {
  Parser p(src, lex(src));
  return p.parseModule();
}

Module parseFile(const std::string& path) {
  if (inputFileProblem(path) == "no such file") fail(fmt::format("cannot open model file '{}'", path));
  return parse(std::make_shared<SourceFile>(path, readInputFile(path, "model file", kMaxModelFileBytes)));
}

}  // namespace netc
